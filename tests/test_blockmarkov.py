"""The block-Markov scheme (THEORY result 6) against independent references."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wzbounds import blockmarkov as bm


def power_sum_reference(alpha: float, b: int) -> float:
    """sum_{n=b}^{2b-1} n^-alpha at high precision: direct for small b, Hurwitz zeta beyond."""
    if b <= 3000:
        with mpmath.workdps(40):
            return float(mpmath.fsum(mpmath.mpf(n) ** -mpmath.mpf(alpha) for n in range(b, 2 * b)))
    with mpmath.workdps(60):
        a = mpmath.mpf(alpha)
        if a == 1:
            return float(mpmath.digamma(2 * b) - mpmath.digamma(b))
        return float(mpmath.zeta(a, b) - mpmath.zeta(a, 2 * b))


@pytest.mark.parametrize("alpha", [0.01, 0.38, 0.44, 0.999999, 1.0, 1.000001, 1.7, 4.0])
@pytest.mark.parametrize("b", [1, 2, 5, 63, 64, 65, 200, 2999, 10**4, 10**6, 10**9])
def test_finite_b_sum_matches_mpmath_to_1e_12(alpha, b):
    assert bm.window_power_sum(alpha, b) == pytest.approx(power_sum_reference(alpha, b), rel=1e-12)


def test_large_exponents_stay_exact_where_mpmath_zeta_does_not():
    assert bm.window_power_sum(20.0, 1000) == pytest.approx(power_sum_reference(20.0, 1000), rel=1e-12)


def test_peak_ratio_limit_at_the_paper_exponent():
    with mpmath.workdps(30):
        kappa = (2 ** mpmath.mpf("0.56") - 1) / mpmath.mpf("0.56")
        ref = float(2 * kappa ** (1 / mpmath.mpf("0.44")))
    cmp = bm.compare_with_sliding(0.44, [10**3, 10**5, 10**7])
    assert float(cmp.peak_ratio_limit[0]) == pytest.approx(ref, rel=1e-13)
    assert ref == pytest.approx(1.371, abs=5e-4)
    assert np.all(np.diff(np.abs(cmp.peak_ratio - ref)) < 0)
    assert cmp.peak_ratio[-1] == pytest.approx(ref, rel=1e-5)
    assert 1.02 <= cmp.mean_ratio_limit[0] <= 1.06


def test_peak_ratio_limits_at_both_ends():
    small, _ = bm.memory_ratio_limits(1e-7)
    large, _ = bm.memory_ratio_limits(1e5)
    assert small == pytest.approx(math.e / 2, rel=1e-6)
    assert large == pytest.approx(2.0, rel=1e-3)


@pytest.mark.parametrize("alpha", [1 - 1e-12, 1 - 1e-6, 1.0, 1 + 1e-6, 0.3, 2.5])
def test_kappa_is_exact_through_alpha_one(alpha):
    with mpmath.workdps(50):
        a = mpmath.mpf(alpha)
        ref = mpmath.log(2) if a == 1 else (2 ** (1 - a) - 1) / (1 - a)
    assert bm.kappa(alpha) == pytest.approx(float(ref), rel=1e-14)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 3.0), st.integers(1, 10**6))
def test_finite_b_average_lies_above_its_limit(alpha, b):
    assert bm.average_distortion(1.0, alpha, b) > bm.limit_average(1.0, alpha, b)


def test_comparison_survives_exponents_where_b_to_the_minus_alpha_underflows():
    cmp = bm.compare_with_sliding(400.0, 10**6)
    assert np.isfinite(cmp.sliding_window) and 1.9 < cmp.peak_ratio < 2.0


@pytest.mark.parametrize("alpha", [0.3, 0.44, 1.0, 2.0])
def test_three_term_expansion_error_is_order_b_to_the_minus_four(alpha):
    errors = []
    for b in (64, 128, 256):
        exact = power_sum_reference(alpha, b) / b / b**-alpha
        errors.append(abs(exact - bm.expansion_terms(alpha, b, 3).sum()))
    # each doubling of b divides the error by about 2^4
    assert errors[0] / errors[1] == pytest.approx(16, rel=0.1)
    assert errors[1] / errors[2] == pytest.approx(16, rel=0.1)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-5, 0.5), st.floats(0.1, 2.0))
def test_block_length_is_the_shortest_reaching_the_target(eps, alpha):
    b = float(bm.block_length(eps, 1.0, alpha))
    assume(b < 1e12)  # one token must move Dbar by more than rounding
    assert bm.average_distortion(1.0, alpha, b) <= eps
    if b > 1:
        assert bm.average_distortion(1.0, alpha, b - 1) > eps


def test_window_sweeps_b_to_2b_minus_1():
    t = np.arange(40)
    w = bm.window_profile(8, t)
    assert w.min() == 8 and w.max() == 15
    assert np.all(w[8:16] == np.arange(8, 16))
    assert bm.peak_memory(8) == 15
    assert bm.mean_memory(8) == pytest.approx(w[:8].mean())
