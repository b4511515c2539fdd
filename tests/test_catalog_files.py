"""Every catalog file in channels/ and devices/ parses with the radio/device models."""

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from edgefl.devices import ServerProfile, WorkerProfile, parse_device_profile
from edgefl.radio.config import ChannelConfig
from edgefl.radio.environment import RadioEnvironment
from edgefl.radio.heights import nominal_heights_m

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = sorted((ROOT / "channels").glob("*.yaml"))
DEVICES = sorted((ROOT / "devices").glob("*.yaml"))
NUMBER_LINE = re.compile(r"^\s*[A-Za-z_]+:\s*[-+]?\d[\d.eE+-]*\s*(#.*)?$")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_catalogs_are_present():
    names = {p.stem for p in CHANNELS}
    assert {"free_space_los", "log_distance", "umi_street_canyon_los", "umi_street_canyon_nlos", "uma_los",
            "uma_nlos", "indoor_office", "indoor_factory"} <= names
    assert {"microcontroller", "raspberry_pi_4", "jetson_nano", "smartphone", "edge_server_fa_asic",
            "edge_server_sbf_asic", "edge_server_cpu"} <= {p.stem for p in DEVICES}
    fading = {ChannelConfig.model_validate(load(p)).fading.model for p in CHANNELS}
    assert {"rayleigh", "rician", "nakagami"} <= fading


@pytest.mark.parametrize("path", CHANNELS + DEVICES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_number_has_a_citation_comment(path):
    bare = [ln for ln in path.read_text().splitlines() if NUMBER_LINE.match(ln) and "#" not in ln]
    assert not bare, f"numbers without a source comment in {path.name}: {bare}"


@pytest.mark.parametrize("path", CHANNELS, ids=lambda p: p.name)
def test_channel_file_parses_and_gives_finite_snr(path):
    cfg = ChannelConfig.model_validate(load(path))
    assert cfg.name == path.stem
    h_bs, h_ut = nominal_heights_m(cfg) or (10.0, 1.5)  # 38.901 profiles: the heights they are calibrated for
    env = RadioEnvironment(
        cfg,
        np.array([[30.0, 0.0, h_ut], [100.0, 50.0, h_ut]]),
        np.array([0.0, 0.0, h_bs]),
        np.array([23.0, 23.0]),
        46.0,
        seed=0,
    )
    snr = [env.uplink_snr(k, 0.0, 0, cfg.uplink_bandwidth_hz) for k in range(2)]
    assert np.all(np.isfinite(snr)) and np.all(np.asarray(snr) > 0)
    assert np.all(np.isfinite(env.downlink_snr(0.0, 0, cfg.downlink_bandwidth_hz)))


@pytest.mark.parametrize("path", DEVICES, ids=lambda p: p.name)
def test_device_file_parses(path):
    prof = parse_device_profile(load(path))
    assert prof.name == path.stem
    assert isinstance(prof, (WorkerProfile, ServerProfile))


def test_asic_decoders_match_dsc_paper():
    fa = parse_device_profile(load(ROOT / "devices" / "edge_server_fa_asic.yaml"))
    sbf = parse_device_profile(load(ROOT / "devices" / "edge_server_sbf_asic.yaml"))
    assert fa.decoder.throughput_bps == 588e9 and sbf.decoder.throughput_bps == 181e9


def _locs(err: ValidationError):
    return [".".join(str(x) for x in e["loc"]) for e in err.errors()]


def test_broken_channel_profiles_name_the_field():
    good = load(ROOT / "channels" / "uma_nlos.yaml")
    with pytest.raises(ValidationError) as e:
        ChannelConfig.model_validate({**good, "uplink_bandwidth_hz": -20e6})
    assert _locs(e.value) == ["uplink_bandwidth_hz"]
    assert "greater than or equal to 1" in str(e.value)
    with pytest.raises(ValidationError) as e:
        ChannelConfig.model_validate({**good, "bandwith_hz": 20e6})
    assert _locs(e.value) == ["bandwith_hz"]
    assert "Extra inputs are not permitted" in str(e.value)
    with pytest.raises(ValidationError) as e:
        ChannelConfig.model_validate({**good, "pathloss": {**good["pathloss"], "exponent": 3.0}})
    assert _locs(e.value) == ["pathloss"] and "exponent" in str(e.value)
    with pytest.raises(ValidationError) as e:
        ChannelConfig.model_validate({**good, "fading": {"model": "nakagami", "m": 0.2}})
    assert _locs(e.value) == ["fading.m"]


def test_broken_device_profiles_name_the_field():
    good = load(ROOT / "devices" / "raspberry_pi_4.yaml")
    with pytest.raises(ValidationError) as e:
        parse_device_profile({**good, "flops": 1e9})
    assert _locs(e.value) == ["worker.flops"]
    with pytest.raises(ValidationError) as e:
        parse_device_profile({**good, "idle_power_w": -1.0})
    assert _locs(e.value) == ["worker.idle_power_w"]
    server = load(ROOT / "devices" / "edge_server_cpu.yaml")
    with pytest.raises(ValidationError) as e:
        parse_device_profile({**server, "decoder": {**server["decoder"], "throughput_bps": 0}})
    assert _locs(e.value) == ["server.decoder.throughput_bps"]
    with pytest.raises(ValidationError) as e:
        parse_device_profile({**good, "kind": "router"})
    assert "kind" in str(e.value) or "discriminator" in str(e.value)
