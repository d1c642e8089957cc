"""Decay laws: evaluation, inverses and two-sided conditions."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import wzbounds as wz

alphas = st.floats(0.05, 5.0)
constants = st.floats(1e-3, 1e3)
targets = st.floats(1e-9, 1.0)


@given(constants, alphas, targets, st.floats(1, 100))
def test_power_window_is_the_smallest_reaching_eps_exactly(C, alpha, eps, w0):
    """No tolerance: the law evaluated at the answer reaches eps, one below does not (windows
    below 2^53, where whole numbers are float64 numbers)."""
    law = wz.PowerLaw(C, alpha, w0)
    w = float(law.window(eps))
    assume(w < 2.0**53)
    assert w >= w0 and w == np.floor(w)
    assert law(w) <= eps and law([w])[0] <= eps
    if w - 1 >= w0:
        assert law(w - 1) > eps and law([w - 1])[0] > eps


@given(st.floats(1e-6, 1e6), st.floats(1e-3, 20.0), st.integers(1, 10**9), st.floats(1, 1e3))
def test_power_window_of_an_evaluated_law_is_the_same_for_scalars_and_arrays(C, alpha, k, w0):
    """window(law(k)) is the smallest whole w with law(w) <= law(k): at most k, and equal for a
    scalar, a list, a 0-d array and one entry among others (numpy's scalar and array powers
    differ in the last bit, which made the scalar answer one token too large)."""
    law = wz.PowerLaw(C, alpha, w0)
    eps = law(float(k))
    scalar = float(law.window(eps))
    assert scalar <= max(k, np.ceil(w0))
    assert float(law.window([eps])[0]) == scalar == float(law.window(np.asarray(eps)))
    assert float(law.window(np.array([1e-3, eps, 0.5]))[1]) == scalar


def test_power_window_on_the_input_numpy_scalar_power_got_wrong():
    """PowerLaw(40.219..., 1.3999...): numpy's scalar 14.0 ** -alpha is one ulp above its array
    power; the window of D(14) was 15 for a scalar eps and 14 for a list."""
    law = wz.PowerLaw(40.21910238143369, 1.3998834683142343)
    assert float(law.window(law(14))) == 14.0 == float(law.window([law(14)])[0])
    wz.check_bound(wz.sliding_window_kl(C=0.5**0.5, alpha=0.44, V=1000, mu=0.1, R=1.0))


@given(st.floats(1e-3, 1e3), st.floats(0.05, 5.0), st.floats(1e-12, 0.5))
def test_power_window_is_the_ceiling_of_the_root_computed_in_mpmath(C, alpha, eps):
    """Independent reference: the real root (C/eps)^(1/alpha) at 50 digits; away from a whole
    number (where float64 rounding cannot decide) the window is its ceiling, floored at 1."""
    import mpmath

    mpmath.mp.dps = 50
    root = (mpmath.mpf(C) / mpmath.mpf(eps)) ** (1 / mpmath.mpf(alpha))
    assume(root < 1e15 and abs(root - mpmath.nint(root)) > 1e-6 * max(root, 1))
    assert float(wz.power_window(eps, C, alpha)) == max(1.0, float(mpmath.ceil(root)))


@given(constants, alphas, st.floats(1, 1e6))
def test_power_inverse_undoes_evaluation(C, alpha, w):
    law = wz.PowerLaw(C, alpha)
    assert law.real_window(law(w)) == pytest.approx(w, rel=1e-9, abs=0)


@given(constants, st.floats(0.01, 0.99), targets)
def test_geometric_window_is_the_smallest_reaching_eps(C, rho, eps):
    law = wz.GeometricLaw(C, rho)
    w = float(law.window(eps))
    assert law(w) <= eps and float(law.window([eps])[0]) == w
    if w - 1 >= 1:
        assert law(w - 1) > eps


@given(constants, st.floats(0.01, 0.99), st.floats(0, 1e3))
def test_geometric_inverse_undoes_evaluation(C, rho, w):
    assume(w * np.log10(rho) > -290)  # keep C rho^w a normal double
    law = wz.GeometricLaw(C, rho)
    assert law.real_window(law(w)) == pytest.approx(w, rel=1e-9, abs=1e-9)


def test_power_window_is_vectorised_over_every_argument():
    eps = np.array([1e-1, 1e-2, 1e-3])[:, None]
    alpha = np.array([0.3, 0.5])
    w = wz.power_window(eps, 2.0, alpha)
    assert w.shape == (3, 2)
    assert w[2, 0] == np.ceil((2 / 1e-3) ** (1 / 0.3))


def test_two_sided_power_law_contains_its_ends_and_nothing_outside():
    band = wz.two_sided_power(0.5, 2.0, 0.4)
    w = np.array([1.0, 10.0, 100.0])
    assert band.contains(w, band.lower(w)).all() and band.contains(w, band.upper(w)).all()
    assert not band.contains(w, band.upper(w) * 1.01).any()
    assert not band.contains(w, band.lower(w) * 0.99).any()


def test_two_sided_laws_refuse_inconsistent_halves():
    with pytest.raises(ValueError, match="c must be <= C"):
        wz.two_sided_power(2.0, 1.0, 0.4)
    with pytest.raises(ValueError, match="share their exponent"):
        wz.TwoSided(wz.PowerLaw(0.5, 0.3), wz.PowerLaw(1.0, 0.4))
    with pytest.raises(ValueError, match="one family"):
        wz.TwoSided(wz.PowerLaw(0.5, 0.3), wz.GeometricLaw(1.0, 0.4))
    assert wz.two_sided_geometric(0.1, 1.0, 0.9).contains(5.0, 0.5)
