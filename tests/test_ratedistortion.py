"""Rate-distortion numerics: Blahut-Arimoto, Wyner-Ziv, the side-information bottleneck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wzbounds.ratedistortion import (binary_entropy, blahut_arimoto, conditional_rd, dsbs, dsbs_wyner_ziv,
                                     gaussian_sequential, hamming, side_info_bottleneck, wyner_ziv)
from wzbounds.sources import ARFIMA, PowerPACF
from wzbounds.strategies import distributions


@pytest.mark.parametrize("p", [0.1, 0.25, 0.4])
@pytest.mark.parametrize("slope", [-1.5, -2.5, -4.0, -8.0])
def test_dsbs_wyner_ziv_points_lie_on_the_closed_form_envelope(p, slope):
    point = wyner_ziv(dsbs(p), hamming(2), slope)
    assert point.rate == pytest.approx(float(dsbs_wyner_ziv(p, point.distortion)), abs=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.25])
def test_dsbs_wyner_ziv_lies_strictly_above_the_conditional_rate(p):
    """The regression guard against equating R_WZ with R_X|Y = h(p) - h(D)."""
    for slope in (-2.0, -3.0, -5.0):
        wz = wyner_ziv(dsbs(p), hamming(2), slope)
        if 0 < wz.distortion < p - 1e-3:
            conditional = float(binary_entropy(p) - binary_entropy(wz.distortion))
            assert wz.rate > conditional + 1e-4


def test_conditional_rd_matches_h_p_minus_h_d():
    for slope in (-1.0, -3.0, -6.0):
        point = conditional_rd(dsbs(0.25), hamming(2), slope)
        assert point.rate == pytest.approx(float(binary_entropy(0.25) - binary_entropy(point.distortion)), abs=1e-8)
        assert point.certified and 0 <= point.gap <= 1e-10


def test_binary_rate_distortion_and_its_certified_bounds():
    point = blahut_arimoto([0.3, 0.7], hamming(2), -2.0)
    assert point.rate == pytest.approx(float(binary_entropy(0.3) - binary_entropy(point.distortion)), abs=1e-9)
    assert 0 <= point.gap <= 1e-10


@settings(max_examples=25, deadline=None)
@given(distributions(st.integers(2, 4)), st.data())
def test_rate_distortion_is_convex_and_non_increasing_with_valid_bounds(px, data):
    n = px.size
    d = data.draw(distributions(n, batch=(n,))) * 3  # any non-negative distortion matrix
    points = [blahut_arimoto(px, d, s, tol=1e-8, max_iter=20_000) for s in (-8.0, -4.0, -2.0, -1.0)]
    D = np.array([p.distortion for p in points])
    R = np.array([p.rate for p in points])
    # slopes -> 0: D up, R down (each rate is an upper bound within the 1e-8 certified gap)
    assert np.all(np.diff(D) >= -1e-8) and np.all(np.diff(R) <= 2e-8)
    assert all(p.rate_lower <= p.rate_upper + 1e-12 for p in points)
    assert all(p.gap <= 1e-8 or p.iterations == 20_000 for p in points)
    # convexity: each point lies below the chord of its neighbours
    for i in range(1, len(points) - 1):
        if D[i + 1] - D[i - 1] > 1e-6:
            chord = R[i - 1] + (R[i + 1] - R[i - 1]) * (D[i] - D[i - 1]) / (D[i + 1] - D[i - 1])
            assert R[i] <= chord + 1e-7


def test_bottleneck_trades_rate_for_excess_log_loss():
    p = np.random.default_rng(0).dirichlet(np.ones(16)).reshape(4, 2, 2)
    low, high = side_info_bottleneck(p, 2.0), side_info_bottleneck(p, 100.0)
    assert high.rate > low.rate and high.excess < low.excess
    assert high.excess >= 0 and high.rate <= np.log(4) + 1e-9  # I(S; U | Q) <= H(S)


def test_bottleneck_with_an_uninformative_past_costs_nothing():
    p = np.einsum("s,q,qx->sqx", [0.5, 0.5], [0.3, 0.7], [[0.9, 0.1], [0.2, 0.8]])  # X depends on Q only
    point = side_info_bottleneck(p, 50.0)
    assert point.rate < 1e-6 and point.excess < 1e-9


@pytest.mark.parametrize("source", [ARFIMA(0.3), PowerPACF(0.5, 0.9)])
def test_suffix_memory_grows_polynomially_and_the_optimal_rate_logarithmically(source):
    eps = np.array([1e-5, 1e-6, 1e-7])
    out = gaussian_sequential(source, eps)
    beta = source.truth.beta_kl
    window_slope = np.diff(np.log(out.window)) / np.diff(np.log(1 / eps))
    rate_slope = np.diff(out.rate) / np.diff(np.log(1 / eps))
    np.testing.assert_allclose(window_slope, 1 / beta, rtol=0.02)
    np.testing.assert_allclose(rate_slope, 0.5, rtol=1e-3)
    assert np.all(source.bayes_gap(out.window) <= eps) and np.all(source.bayes_gap(out.window - 1) > eps)


def test_bad_rate_distortion_input():
    with pytest.raises(ValueError, match="slope must be finite and < 0"):
        blahut_arimoto([0.5, 0.5], hamming(2), 1.0)
    with pytest.raises(ValueError, match="distortion must be a matrix with 2 rows"):
        wyner_ziv(dsbs(0.2), hamming(3), -1.0)
    with pytest.raises(ValueError, match="beta must be finite and > 0"):
        side_info_bottleneck(np.ones((2, 2, 2)) / 8, 0.0)
    with pytest.raises(ValueError, match=r"p must be in \(0, 0.5\)"):
        dsbs(0.7)
