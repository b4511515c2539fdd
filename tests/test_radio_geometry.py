"""38.901 antenna heights from the scenario geometry (issue 13 item 7): they reach the path loss,
the standard's nominal heights fill in what the scenario leaves out, heights outside a model's
validity range are scenario errors naming field and profile file, non-nominal heights warn,
and a profile's h_bs_m / h_ut_m still pins them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgefl.radio.heights import HeightWarning, check_heights, nominal_heights_m
from edgefl.scenario import ScenarioError
from edgefl.scenario.resolve import resolve
from edgefl.sim.build import radio_environment

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def scenario(channel: str | dict, server_z: float | None = 10.0, height_m: float | None = 1.5, **workers) -> dict:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["channel"] = {"profile": channel} if isinstance(channel, str) else channel
    if server_z is None:
        del data["server"]["position"]
    else:
        data["server"]["position"] = [0.0, 0.0, server_z]
    pl = data["workers"]["placement"]
    if height_m is None:
        del pl["height_m"]
    else:
        pl["height_m"] = height_m
    data["workers"].update(workers)
    return data


def load(data: dict, base_dir: Path = ROOT, strict: bool = True):
    with warnings.catch_warnings():
        if strict:
            warnings.simplefilter("error", HeightWarning)
        return resolve(data, "test.yaml", base_dir)


def problem(data: dict, base_dir: Path = ROOT):
    with pytest.raises(ScenarioError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", HeightWarning)
        resolve(data, "test.yaml", base_dir)
    assert len(info.value.problems) == 1, info.value
    return info.value.problems[0], str(info.value)


# ---- heights reach the path loss ---------------------------------------------------------


def test_placement_heights_reach_uma_nlos_pathloss_hand_computed():
    """UMa NLOS, f_c = 3.5 GHz, d_2D = 100 m, h_BS = 25 m (38.901 Table 7.4.1-1):
    h_UT = 1.5 m: d_3D = sqrt(100^2 + 23.5^2) = 102.72415, log10 = 2.0116725;
      PL_LOS = 28 + 22 x 2.0116725 + 20 log10 3.5 = 83.138157 (d_2D < d'_BP = 4 x 24 x 0.5 x 3.5e9/3e8 = 560 m),
      PL' = 13.54 + 39.08 x 2.0116725 + 10.881361 = 103.037524 -> PL = 103.037524 dB;
    h_UT = 10.5 m: d_3D = sqrt(100^2 + 14.5^2) = 101.04578, log10 = 2.0045182;
      PL' = 13.54 + 39.08 x 2.0045182 + 10.881361 - 0.6 x 9 = 97.357932 dB (> PL_LOS = 82.980761)."""
    data = scenario("uma_nlos", server_z=25.0, count=2,
                    placement={"layout": "explicit", "positions_m": [[100.0, 0.0, 1.5], [0.0, 100.0, 10.5]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeightWarning)  # 10.5 m is not the 1.5 m calibration height
        env = radio_environment(load(data, strict=False))
    assert env.h_bs_m == 25.0
    assert env.h_ut_m.tolist() == [1.5, 10.5]
    assert env.pathloss_db == pytest.approx([103.037524, 97.357932], abs=1e-5)


def test_server_height_reaches_pathloss():
    """UMi NLOS at d_2D = 100 m, h_UT = 1.5 m, f_c = 3.5 GHz (38.901 Table 7.4.1-1); the server's z sets
    d_3D: h_BS = 10 m: sqrt(100^2 + 8.5^2) = 100.36060, 20 m: sqrt(100^2 + 18.5^2) = 101.69685.
    PL' = 35.3 log10 d_3D + 22.4 + 21.3 log10 3.5 = 104.64383 / 104.84660 dB, above the LOS
    PL1 = 32.4 + 21 log10 d_3D + 20 log10 3.5 = 85.31419 / 85.43482 (d_2D < d'_BP = 210 / 443 m)."""
    out = []
    for z in (10.0, 20.0):
        data = scenario("umi_street_canyon_nlos", server_z=z, count=1,
                        placement={"layout": "explicit", "positions_m": [[100.0, 0.0, 1.5]]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HeightWarning)
            env = radio_environment(load(data, strict=False))
        assert env.h_bs_m == z
        out.append(float(env.pathloss_db[0]))
    assert out == pytest.approx([104.64383, 104.84660], abs=1e-5)


# ---- defaults where the scenario says nothing ----------------------------------------------


@pytest.mark.parametrize(("profile", "bs", "ut"), [
    ("umi_street_canyon_nlos", 10.0, 1.5), ("uma_los", 25.0, 1.5), ("indoor_office", 3.0, 1.0),
    ("rma", 35.0, 1.5), ("indoor_factory", 1.5, 1.5), ("log_distance", 25.0, 1.5),
])
def test_unset_heights_default_to_the_models_nominal_ones(profile, bs, ut):
    rs = load(scenario(profile, server_z=None, height_m=None))
    assert rs.scenario.server.position == (0.0, 0.0, bs)  # log_distance: the schema's generic 25 m / 1.5 m
    assert rs.scenario.workers.placement.height_m == ut


def test_given_heights_are_kept():
    rs = load(scenario("indoor_office", server_z=3.0, height_m=1.0))
    env = radio_environment(rs)
    assert env.h_bs_m == 3.0 and np.all(env.h_ut_m == 1.0)


# ---- errors: field, value, profile file, what is allowed ------------------------------------


def test_umi_terminal_above_range_names_placement_height_and_profile():
    p, text = problem(scenario("umi_street_canyon_nlos", height_m=30.0))
    assert p.field == "workers.placement.height_m" and p.value == 30.0
    assert "[1.5, 22.5]" in p.message and "Table 7.4.1-1" in p.message
    assert str(ROOT / "channels" / "umi_street_canyon_nlos.yaml") in p.message
    assert "test.yaml" in text


def test_override_and_explicit_point_are_named():
    data = scenario("umi_street_canyon_nlos", overrides=[{"index": 4, "position": [10.0, 10.0, 25.0]}])
    p, _ = problem(data)
    assert p.field == "workers.overrides[0].position" and p.value == 25.0 and "worker 4" in p.message
    data = scenario("umi_street_canyon_nlos", count=2,
                    placement={"layout": "explicit", "positions_m": [[50.0, 0.0], [0.0, 50.0, 23.0]]})
    p, _ = problem(data)
    assert p.field == "workers.placement.positions_m[1]" and p.value == 23.0


def test_rma_bs_below_ten_metres_names_server_position():
    p, _ = problem(scenario("rma", server_z=8.0))
    assert p.field == "server.position" and p.value == [0.0, 0.0, 8.0]
    assert "[10, 150]" in p.message and "rma.yaml" in p.message


def test_uma_bs_below_terminals_is_an_error():
    p, _ = problem(scenario("uma_los", server_z=12.0, height_m=15.0))
    assert p.field == "workers.placement.height_m" and "must exceed h_UT" in p.message


def test_uma_bs_below_the_highest_floor_is_an_error():
    # uma: 80 % indoor on floors up to 22.5 m (Table 7.2-1); a 20 m BS is below some of them
    p, _ = problem(scenario("uma", server_z=20.0))
    assert p.field == "server.position" and "22.5 m" in p.message
    load(scenario("uma", server_z=25.0), strict=False)
    with pytest.warns(HeightWarning, match="25 m BS"):  # all outdoors at 1.5 m: valid, not the calibration
        load(scenario("uma", server_z=20.0, placement={"layout": "disc", "radius_m": 150.0, "indoor_fraction": 0.0}),
             strict=False)


def test_inf_low_bs_above_clutter_is_an_error():
    # indoor_factory_mixed is InF-DL with h_c = 6 m: a low BS sits below the clutter (Table 7.2-4)
    p, _ = problem(scenario("indoor_factory_mixed", server_z=8.0))
    assert p.field == "server.position" and "InF-SH / InF-DH" in p.message
    p, _ = problem(scenario("indoor_factory_mixed", server_z=1.5, height_m=30.0))
    assert p.field == "workers.placement.height_m" and "ceiling" in p.message


def test_pin_in_a_profile_file_is_reported_in_that_file(tmp_path):
    prof = yaml.safe_load((ROOT / "channels" / "umi_street_canyon_nlos.yaml").read_text())
    prof["pathloss"]["h_ut_m"] = 30.0
    (tmp_path / "channels").mkdir()
    path = tmp_path / "channels" / "umi_pinned.yaml"
    path.write_text(yaml.safe_dump(prof))
    p, _ = problem(scenario("umi_pinned"), tmp_path)
    assert (p.field, p.value, p.file) == ("pathloss.h_ut_m", 30.0, str(path))


# ---- warnings and the explicit override ------------------------------------------------------


def test_non_nominal_heights_warn_nominal_ones_do_not():
    with pytest.warns(HeightWarning, match=r"server.position = \[0.0, 0.0, 15.0\]: UMi street canyon is "
                                           r"calibrated for a 10 m BS"):
        load(scenario("umi_street_canyon_nlos", server_z=15.0), strict=False)
    with pytest.warns(HeightWarning, match="workers.placement.height_m = 5.0: .*1.5 m terminals"):
        load(scenario("umi_street_canyon_nlos", height_m=5.0), strict=False)
    with pytest.warns(HeightWarning, match="InH-Office is calibrated for a 3 m BS"):
        load(scenario("indoor_office", server_z=4.0, height_m=1.0), strict=False)
    load(scenario("umi_street_canyon_nlos"))  # 10 m / 1.5 m: no warning (strict turns one into an error)


def test_strict_makes_a_non_nominal_height_an_error():
    from typer.testing import CliRunner

    from edgefl.cli import app

    args = ["validate", str(QUICKSTART), "--set", "server.position=[0,0,15]"]
    with pytest.warns(HeightWarning):
        assert CliRunner().invoke(app, args).exit_code == 0
    res = CliRunner().invoke(app, [*args, "--strict"])
    assert res.exit_code == 2 and "error (--strict): server.position" in res.output


def test_profile_pin_overrides_the_geometry():
    ch = {"profile": "umi_street_canyon_nlos", "pathloss": {"model": "umi_nlos", "h_bs_m": 10.0, "h_ut_m": 1.5}}
    rs = load(scenario(ch, server_z=40.0, height_m=20.0))  # pinned: no warning about 40 m / 20 m
    env = radio_environment(rs)
    assert env.h_bs_m == 10.0 and np.all(env.h_ut_m == 1.5)
    assert np.allclose(env.distance_3d_m, np.hypot(env.distance_2d_m, 8.5))
    ch["pathloss"]["h_ut_m"] = 30.0
    p, _ = problem(scenario(ch))
    assert (p.field, p.value, p.file) == ("channel.pathloss.h_ut_m", 30.0, None)


# ---- the validity table itself ---------------------------------------------------------------


def _cfg(name: str):
    from edgefl import catalog
    from edgefl.radio.config import ChannelConfig

    return ChannelConfig.model_validate(catalog.load_profile("channels", name, []))


@pytest.mark.parametrize(("profile", "h_bs", "h_ut", "errors"), [
    ("rma", 10.0, [1.0, 10.0], 0), ("rma", 150.0, [1.5], 0), ("rma", 9.99, [1.5], 1), ("rma", 151.0, [1.5], 1),
    ("rma", 35.0, [0.99, 10.01], 1),
    ("uma_los", 25.0, [1.5, 22.5], 0), ("uma_los", 25.0, [1.49], 1), ("uma_los", 25.0, [22.6], 1),
    ("umi_street_canyon_los", 10.0, [1.5, 22.5], 0), ("umi_street_canyon_los", 1.0, [1.5], 1),
    ("indoor_office_los", 3.0, [1.0], 0), ("indoor_office_los", -1.0, [1.0], 1),
])
def test_validity_ranges(profile, h_bs, h_ut, errors):
    issues = check_heights(_cfg(profile), h_bs, np.array(h_ut))
    assert sum(i.error for i in issues) == errors, issues


def test_nominal_heights_of_every_38901_profile_are_their_own_calibration():
    """Each shipped 38.901 profile's nominal heights pass its own check without warnings."""
    for f in sorted((ROOT / "channels").glob("*.yaml")):
        cfg = _cfg(f.stem)
        nominal = nominal_heights_m(cfg)
        if nominal is None:
            continue
        assert cfg.pathloss.h_bs_m is None and cfg.pathloss.h_ut_m is None, f  # heights come from the scenario
        assert check_heights(cfg, nominal[0], np.array([nominal[1]])) == [], f
