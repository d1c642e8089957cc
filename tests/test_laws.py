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
def test_power_window_is_the_smallest_reaching_eps(C, alpha, eps, w0):
    law = wz.PowerLaw(C, alpha, w0)
    w = float(law.window(eps))
    assert w >= w0 and w == np.floor(w)
    assert law(w) <= eps * (1 + 1e-9)
    if w - 1 >= w0:
        assert law(w - 1) > eps * (1 - 1e-9)


@given(constants, alphas, st.floats(1, 1e6))
def test_power_inverse_undoes_evaluation(C, alpha, w):
    law = wz.PowerLaw(C, alpha)
    assert law.real_window(law(w)) == pytest.approx(w, rel=1e-9, abs=0)


@given(constants, st.floats(0.01, 0.99), targets)
def test_geometric_window_is_the_smallest_reaching_eps(C, rho, eps):
    law = wz.GeometricLaw(C, rho)
    w = float(law.window(eps))
    assert law(w) <= eps * (1 + 1e-9)
    if w - 1 >= 1:
        assert law(w - 1) > eps * (1 - 1e-9)


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
