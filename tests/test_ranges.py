"""wzbounds.ranges: the exponent by fit range and the local slopes, against closed forms."""

import numpy as np
import pytest

from wzbounds.curves import Curves
from wzbounds.ranges import local_slopes, range_exponents

W = 2.0 ** np.arange(0, 8)  # 1..128


def test_a_pure_power_law_has_one_exponent_on_every_range_and_every_slope():
    curves = Curves(W, np.tile(0.8 * W**-0.4, (10, 1)))
    ranges = range_exponents(curves, n_boot=50)
    # every contiguous sub-range of >= 1 decade with >= 3 windows: spans 16x..128x from each start
    spans = {(r.low, r.high) for r in ranges}
    assert spans == {(a, b) for a in W for b in W if b / a >= 10 and b > a}
    for r in (*ranges, *local_slopes(curves, n_boot=50)):
        assert r.alpha.estimate == pytest.approx(0.4, rel=1e-12) and r.alpha.low == pytest.approx(0.4, rel=1e-12)


def test_a_bent_curve_steepens_with_the_start_of_the_range_as_its_closed_form_says():
    """C (w + 4)^-0.5: the local slope between w and 2w is 0.5 log((2w+4)/(w+4)) / log 2, by hand."""
    curves = Curves(W, np.tile(0.8 * (W + 4) ** -0.5, (10, 1)))
    slopes = local_slopes(curves, n_boot=50)
    for s in slopes:
        by_hand = 0.5 * np.log((s.high + 4) / (s.low + 4)) / np.log(s.high / s.low)
        assert s.alpha.estimate == pytest.approx(by_hand, rel=1e-12)
    assert [s.alpha.estimate for s in slopes] == sorted(s.alpha.estimate for s in slopes)
