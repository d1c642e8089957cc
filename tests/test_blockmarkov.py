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
    assert bm.window_power_sum(alpha, b) == pytest.approx(power_sum_reference(alpha, b), rel=1e-12, abs=0)


def test_large_exponents_stay_exact_where_mpmath_zeta_does_not():
    assert bm.window_power_sum(20.0, 1000) == pytest.approx(power_sum_reference(20.0, 1000), rel=1e-12, abs=0)


def test_peak_ratio_limit_at_the_paper_exponent():
    with mpmath.workdps(30):
        kappa = (2 ** mpmath.mpf("0.56") - 1) / mpmath.mpf("0.56")
        ref = float(2 * kappa ** (1 / mpmath.mpf("0.44")))
    cmp = bm.compare_with_sliding(0.44, [10**3, 10**5, 10**7])
    assert float(cmp.peak_ratio_limit[0]) == pytest.approx(ref, rel=1e-13, abs=0)
    assert ref == pytest.approx(1.371, abs=5e-4)
    assert np.all(np.diff(np.abs(cmp.peak_ratio - ref)) < 0)
    assert cmp.peak_ratio[-1] == pytest.approx(ref, rel=1e-5, abs=0)


def mean_ratio_reference(alpha: float) -> float:
    with mpmath.workdps(40):
        a = mpmath.mpf(alpha)
        kappa = mpmath.log(2) if a == 1 else (2 ** (1 - a) - 1) / (1 - a)
        return float(mpmath.mpf(3) / 2 * kappa ** (1 / a))


def test_mean_memory_ratio_is_near_one_only_for_moderate_exponents():
    """1.5 kappa^(1/alpha): 1.02-1.06 for alpha <= 2, 1.12 at alpha = 5, towards 1.5 as alpha grows."""
    small = np.array([1e-4, 0.1, 0.44, 1.0, 1.5, 2.0])
    _, mean = bm.memory_ratio_limits(small)
    np.testing.assert_allclose(mean, [mean_ratio_reference(a) for a in small], rtol=1e-12)
    assert np.all((mean >= 1.019) & (mean <= 1.061))
    _, at_five = bm.memory_ratio_limits(5.0)
    assert float(at_five) == pytest.approx(1.122, abs=5e-4) == mean_ratio_reference(5.0)
    _, large = bm.memory_ratio_limits(np.array([10.0, 100.0, 1e4]))
    assert np.all(np.diff(large) > 0) and large[-1] == pytest.approx(1.5, abs=2e-3)


def normalised_reference(alpha: float, b: int) -> float:
    """(1/b) sum_{n=b}^{2b-1} (n/b)^-alpha at 40 digits: summed term by term up to b = 3000, beyond by
    mpmath's own Euler-Maclaurin summation (numerical derivatives, its own error control)."""
    with mpmath.workdps(40):
        a, B = mpmath.mpf(alpha), mpmath.mpf(b)
        if b <= 3000:
            return float(mpmath.fsum((mpmath.mpf(n) / B) ** -a for n in range(b, 2 * b)) / B)
        return float(mpmath.sumem(lambda n: (n / B) ** -a, [b, 2 * b - 1]) / B)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-3, 1000.0), st.one_of(st.integers(1, 3000), st.integers(3001, 10**9)))
def test_normalised_average_is_exact_for_every_alpha_up_to_1000(alpha, b):
    """Finding 5: Euler-Maclaurin from b was off by 20% at alpha = 400 and negative at 1000."""
    assert float(bm.normalised_average(alpha, b)) == pytest.approx(normalised_reference(alpha, b), rel=1e-12, abs=0)


@pytest.mark.parametrize(("alpha", "b"), [(200.0, 64), (400.0, 64), (1000.0, 64), (1000.0, 100), (1000.0, 2100),
                                          (999.5, 10**6)])
def test_block_markov_at_large_exponents_regressions(alpha, b):
    assert float(bm.normalised_average(alpha, b)) == pytest.approx(normalised_reference(alpha, b), rel=1e-12, abs=0)
    cmp = bm.compare_with_sliding(alpha, b)
    assert np.isfinite(cmp.peak_ratio) and np.isfinite(cmp.mean_ratio) and 1 < cmp.peak_ratio < 2


def test_peak_ratio_limits_at_both_ends():
    small, _ = bm.memory_ratio_limits(1e-7)
    large, _ = bm.memory_ratio_limits(1e5)
    assert small == pytest.approx(math.e / 2, rel=1e-6, abs=0)
    assert large == pytest.approx(2.0, rel=1e-3, abs=0)


@pytest.mark.parametrize("alpha", [1 - 1e-12, 1 - 1e-6, 1.0, 1 + 1e-6, 0.3, 2.5])
def test_kappa_is_exact_through_alpha_one(alpha):
    with mpmath.workdps(50):
        a = mpmath.mpf(alpha)
        ref = mpmath.log(2) if a == 1 else (2 ** (1 - a) - 1) / (1 - a)
    assert bm.kappa(alpha) == pytest.approx(float(ref), rel=1e-14, abs=0)


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
    assert errors[0] / errors[1] == pytest.approx(16, rel=0.1, abs=0)
    assert errors[1] / errors[2] == pytest.approx(16, rel=0.1, abs=0)


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
