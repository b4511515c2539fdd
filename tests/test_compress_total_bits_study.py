"""studies/total_bits.py on a small budget: totals add up, targets and "never" are reported."""

import importlib.util
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _study():
    spec = importlib.util.spec_from_file_location("total_bits", ROOT / "studies" / "total_bits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_totals_and_never(tmp_path):
    tb = _study()
    hit = tb.run("convex", "AIADE", 200, 1, 1e-6)
    assert hit["reached"] and hit["rounds"] < 200
    assert hit["total_bits"] == hit["uplink_bits"] + hit["downlink_bits"]
    # AIADE's broadcast is the double-encoded difference: far below the 32-bit model per round
    assert hit["downlink_bits"] < 32 * 50 * hit["rounds"] / 4
    miss = tb.run("convex", "signSGD", 20, 1, 1e-6)
    assert not miss["reached"] and math.isnan(miss["total_bits"])
    tb.write_table([hit, miss], tmp_path, {"convex": 1e-6, "mlp": 0.85})
    text = (tmp_path / "total_bits.md").read_text()
    assert "| AIADE |" in text and "signSGD | never in 20 rounds" in text
