"""Per-worker LOS/NLOS state of mixed profiles: path loss, shadowing and fading switch with
the state; the state is seeded per worker, fixed per placement or redrawn with the
correlation policy; bad combinations are rejected; workers.csv records it."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from edgefl.radio.gauss_markov import GaussMarkovBank
from pydantic import ValidationError

from edgefl import catalog
from edgefl.radio.config import ChannelConfig
from edgefl.radio.environment import RadioEnvironment
from edgefl.radio.fading import FadingStream
from edgefl.radio.los import los_probability
from edgefl.radio.noise import thermal_noise_dbm
from edgefl.radio.pathloss import pathloss_db

SERVER = np.array([0.0, 0.0, 10.0])


def profile(name, **update):
    raw = catalog.load_profile("channels", name, [])
    for key, val in update.items():
        if val is None:
            raw.pop(key, None)
        elif isinstance(val, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **val}
        else:
            raw[key] = val
    return ChannelConfig.model_validate(raw)


def ring(n, r, z=1.5):
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), np.full(n, z)])


def spread(n, r_max=200.0):
    d = np.linspace(20.0, r_max, n)
    return np.column_stack([d, np.zeros(n), np.full(n, 1.5)])


def test_state_switches_pathloss_shadowing_and_fading():
    cfg = profile("umi_street_canyon", o2i=None)
    n = 40
    env = RadioEnvironment(cfg, spread(n), SERVER, np.full(n, 23.0), 30.0, seed=4)
    lk = env.links
    assert 0 < lk.los.sum() < n  # both states occur
    pl_los = pathloss_db(cfg.pathloss, env.distance_2d_m, cfg.carrier_hz, 10.0, 1.5)
    nlos_cfg = cfg.los_state.nlos.pathloss.model_copy(update={"h_bs_m": 10.0, "h_ut_m": 1.5})
    pl_nlos = pathloss_db(nlos_cfg, env.distance_2d_m, cfg.carrier_hz, 10.0, 1.5)
    assert np.array_equal(env.pathloss_db, np.where(lk.los, pl_los, pl_nlos))
    # one unit-normal shadowing draw per worker, scaled by the state's sigma (4 vs 7.82 dB)
    assert np.allclose(env.shadowing_db, np.where(lk.los, 4.0, 7.82) * lk.shadow_z)
    assert np.allclose(lk.pr_los, los_probability("umi_street_canyon", env.distance_2d_m))
    # fading: the LOS workers' gains are the Rician stream's, the NLOS workers' the Rayleigh stream's
    bw = cfg.uplink_bandwidth_hz
    mean = 10 ** (env.mean_uplink_snr_db(bw) / 10)
    for k in range(n):
        key, fad = ((9, k), cfg.fading) if lk.los[k] else ((1, k), cfg.los_state.nlos.fading)
        ref = FadingStream(fad, cfg.correlation, np.random.SeedSequence(4, spawn_key=key))
        assert env.uplink_snr(k, 0.5, 0, bw) / mean[k] == pytest.approx(ref.gain(0.5, 0), rel=1e-12)


def test_state_seeded_per_worker():
    cfg = profile("umi_street_canyon")
    pos = spread(30)
    a = RadioEnvironment(cfg, pos, SERVER, np.full(30, 23.0), 30.0, seed=9).links
    b = RadioEnvironment(cfg, pos, SERVER, np.full(30, 23.0), 30.0, seed=9).links
    head = RadioEnvironment(cfg, pos[:10], SERVER, np.full(10, 23.0), 30.0, seed=9).links
    other = RadioEnvironment(cfg, pos, SERVER, np.full(30, 23.0), 30.0, seed=10).links
    for f in ("los", "indoor", "high_loss", "d2d_in_m", "o2i_loss_db"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
        assert np.array_equal(getattr(a, f)[:10], getattr(head, f))  # worker k does not depend on K
    assert not (np.array_equal(a.los, other.los) and np.array_equal(a.indoor, other.indoor))


def test_default_indoor_fraction_and_placement_override():
    cfg = profile("uma")
    n = 1500
    pos = ring(n, 150.0)
    srv = np.array([0.0, 0.0, 25.0])
    env = RadioEnvironment(cfg, pos, srv, np.full(n, 23.0), 30.0, seed=1)
    lk = env.links
    assert abs(lk.indoor.mean() - 0.8) < 3.29 * math.sqrt(0.16 / n)  # Table 7.2-1: 80 % indoor
    assert abs(lk.high_loss[lk.indoor].mean() - 0.5) < 3.29 * math.sqrt(0.25 / lk.indoor.sum())
    # Pr_LOS of indoor workers uses d_2D-out = d_2D - d_2D-in
    assert np.allclose(lk.pr_los, los_probability("uma", 150.0 - lk.d2d_in_m, env.h_ut_m))
    out = RadioEnvironment(cfg, pos, srv, np.full(n, 23.0), 30.0, seed=1, indoor=(0.0, None)).links
    assert not out.indoor.any() and np.all(out.o2i_loss_db == 0)
    with pytest.raises(ValueError, match="indoor_fraction=0.5 needs a channel with an 'o2i' section"):
        RadioEnvironment(profile("uma_nlos"), pos[:3], srv, 23.0, 30.0, seed=1, indoor=(0.5, None))


def _mean_db_in_state(env, cfg, k, s):
    lk = env.links
    rx = env.worker_tx_dbm[k] - lk.pathloss_by_state_db[s, k] - lk.sigma_by_state_db[s, k] * lk.shadow_z[k]
    return rx - float(thermal_noise_dbm(cfg.uplink_bandwidth_hz, cfg.noise_figure_db))


def test_redraw_per_round_follows_pr_los():
    cfg = profile("uma", o2i=None, correlation={"kind": "block_round"},
                  fading={"model": "none", "k_factor_db": None},
                  los_state={**catalog.load_profile("channels", "uma", [])["los_state"],
                             "redraw": "correlation", "nlos": {"pathloss": {"model": "uma_nlos"},
                                                               "shadowing_sigma_db": 6.0}})
    env = RadioEnvironment(cfg, np.array([[120.0, 0.0, 1.5]]), np.array([0.0, 0.0, 25.0]), 23.0, 30.0, seed=3)
    bw = cfg.uplink_bandwidth_hz
    levels = {s: _mean_db_in_state(env, cfg, 0, s) for s in (0, 1)}
    assert abs(levels[1] - levels[0]) > 1.0
    rounds = 3000
    states = []
    for r in range(rounds):
        snr_db = 10 * math.log10(env.uplink_snr(0, float(r), r, bw))
        s = min(levels, key=lambda st: abs(levels[st] - snr_db))
        assert snr_db == pytest.approx(levels[s], abs=1e-9)  # no fading: exactly the state's level
        # the same state on the downlink in the same round (one draw per worker and round)
        assert env._dl[0]._state(float(r), r) == s
        states.append(s)
    p = float(env.links.pr_los[0])
    assert abs(np.mean(states) - p) < 3.29 * math.sqrt(p * (1 - p) / rounds)


def test_redraw_per_upload_changes_within_a_round():
    cfg = profile("indoor_factory_mixed", fading={"model": "none", "k_factor_db": None})
    cfg = cfg.model_copy(update={"los_state": cfg.los_state.model_copy(update={"clutter_density": 0.05})})
    pos = np.array([[5.0, 0.0, 1.5]])
    env = RadioEnvironment(cfg, pos, np.array([0.0, 0.0, 1.5]), 23.0, 30.0, seed=8)
    p = float(env.links.pr_los[0])
    # k = -2 / ln 0.95 = 38.99 m: Pr_LOS(5 m) = exp(-5 / 38.99) = 0.8797
    assert p == pytest.approx(math.exp(5.0 * math.log(0.95) / 2.0), rel=1e-12)
    bw = cfg.uplink_bandwidth_hz
    vals = np.array([env.uplink_snr(0, 0.0, 0, bw) for _ in range(4000)])
    los_level = 10 ** (_mean_db_in_state(env, cfg, 0, 1) / 10)
    frac = np.mean(np.isclose(vals, los_level, rtol=1e-12))
    assert abs(frac - p) < 3.29 * math.sqrt(p * (1 - p) / vals.size)


def test_plain_profiles_keep_their_streams():
    """A fixed profile takes the original code path (byte-identical outputs)."""
    cfg = profile("umi_street_canyon_nlos")
    env = RadioEnvironment(cfg, spread(5), SERVER, np.full(5, 23.0), 30.0, seed=2)
    assert env.links.plain and isinstance(env._ul, GaussMarkovBank)  # per-worker arrays, no LOS switching
    assert not env.links.los.any() and np.all(env.links.pr_los == 0)


@pytest.mark.parametrize(("update", "match"), [
    ({"correlation": {"kind": "gauss_markov", "doppler_hz": 9.0}, "los_state": {"redraw": "correlation"}},
     "gauss_markov has no LOS-state process"),
    ({"pathloss": {"model": "uma_los"}}, "needs pathloss.model='umi_los'"),
    ({"los_state": {"nlos": {"pathloss": {"model": "umi_nlos", "h_bs_m": 20.0}}}}, "h_bs_m must not be set"),
    ({"los_state": {"probability": "inf_dl"}}, "needs clutter_size_m"),
    ({"los_state": {"probability": "inf_hh"}}, "no LOS/NLOS path-loss pair"),
    ({"los_state": {"probability": "rma"}}, "needs pathloss.model=.rma_los."),
    ({"los_state": {"clutter_density": 0.5}}, "clutter_density not used"),
])
def test_bad_mixed_profiles_rejected(update, match):
    raw = catalog.load_profile("channels", "umi_street_canyon", [])
    for key, val in update.items():
        raw[key] = {**raw[key], **val} if isinstance(raw.get(key), dict) else val
    with pytest.raises(ValidationError, match=match):
        ChannelConfig.model_validate(raw)


def test_o2i_only_for_outdoor_base_stations():
    raw = catalog.load_profile("channels", "indoor_office_mixed", [])
    raw["o2i"] = {"indoor_fraction": 0.5}
    with pytest.raises(ValidationError, match="o2i applies to outdoor base stations"):
        ChannelConfig.model_validate(raw)


def test_workers_csv_records_state_and_indoor_flag(tmp_path: Path):
    from edgefl.runner import run_scenario
    from edgefl.scenario import load_scenario
    from edgefl.sim.build import radio_environment

    root = Path(__file__).resolve().parents[1]
    rs = load_scenario(root / "scenarios" / "quickstart.yaml",
                       overrides=["channel.profile=umi_street_canyon", "rounds=1", "output.plots=false",
                                  "workers.placement.indoor_fraction=0.5"])
    run_scenario(rs, tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "workers.csv") as fh:
        rows = list(csv.DictReader(fh))
    env = radio_environment(rs)
    assert len(rows) == rs.scenario.workers.count
    assert [r["state"] for r in rows] == ["los" if s else "nlos" for s in env.links.los]
    assert [int(r["indoor"]) for r in rows] == env.links.indoor.astype(int).tolist()
    assert {r["building"] for r in rows if r["indoor"] == "0"} == {""}
    assert np.allclose([float(r["pathloss_db"]) for r in rows], env.pathloss_db)


def test_indoor_workers_on_floors():
    """o2i.indoor_height: floors -> h_UT = 3 (n_fl - 1) + 1.5, P(n_fl = j) = sum_{N >= max(j, 4)}^8 1/(5 N)
    (38.901 Table 7.2-1); the path loss, Pr_LOS (C'(h_UT)) and h_E follow those heights."""
    cfg = profile("uma")
    assert cfg.o2i.indoor_height == "floors"
    n = 2000
    srv = np.array([0.0, 0.0, 25.0])
    env = RadioEnvironment(cfg, ring(n, 200.0), srv, np.full(n, 23.0), 30.0, seed=6)
    lk = env.links
    h_in = env.h_ut_m[lk.indoor]
    assert np.all(env.h_ut_m[~lk.indoor] == 1.5)
    for j in range(1, 9):
        p = sum(1 / (5 * big) for big in range(max(j, 4), 9))
        got = np.mean(h_in == 3 * (j - 1) + 1.5)
        assert abs(got - p) < 3.29 * math.sqrt(p * (1 - p) / h_in.size)
    assert np.allclose(lk.pr_los, los_probability("uma", 200.0 - lk.d2d_in_m, env.h_ut_m))
    tall = env.h_ut_m >= 13.5
    assert np.any(lk.h_e_m[tall] > 1.0) and np.all(lk.h_e_m[~tall] == 1.0)
    assert np.allclose(env.distance_3d_m, np.hypot(200.0, 25.0 - env.h_ut_m))


def test_indoor_fraction_without_o2i_names_the_field():
    from typer.testing import CliRunner

    from edgefl.cli import app

    root = Path(__file__).resolve().parents[1]
    res = CliRunner().invoke(app, ["validate", str(root / "scenarios" / "quickstart.yaml"),
                                   "--set", "channel.profile=uma_nlos",
                                   "--set", "workers.placement.indoor_fraction=0.5"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "workers.placement.indoor_fraction=0.5 needs a channel with an 'o2i' section" in res.output
