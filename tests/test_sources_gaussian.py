"""Gaussian PACF sources: exact Bayes gaps, predictive TV, sampling (THEORY section 4)."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from wzbounds.sources import ARFIMA, GeometricPACF, PowerPACF, gaussian_kl, gaussian_tv


def arfima_gap_reference(d: float, w: int) -> float:
    with mpmath.workdps(50):
        d = mpmath.mpf(d)
        return float((mpmath.loggamma(w + 1) + mpmath.loggamma(w + 1 - 2 * d) - 2 * mpmath.loggamma(w + 1 - d)) / 2)


@pytest.mark.parametrize("d", [1e-4, 0.01, 0.1, 0.25, 0.3, 0.45, 0.499])
@pytest.mark.parametrize("w", [0, 1, 2, 7, 8, 50, 1000, 10**5, 10**6])
def test_arfima_gap_matches_50_digits_to_1e_10(d, w):
    assert ARFIMA(d).bayes_gap(w) == pytest.approx(arfima_gap_reference(d, w), rel=1e-10, abs=0)


@given(st.floats(1e-3, 0.499), st.integers(1, 10**7))
def test_arfima_gap_lies_between_its_bounds(d, w):
    gap = float(ARFIMA(d).bayes_gap(w))
    assert d**2 / (2 * (w + 1 - d)) * (1 - 1e-12) <= gap <= d**2 / (2 * w) * (1 + 1e-12)


@pytest.mark.parametrize(("c", "eta"), [(0.5, 0.8), (0.9, 0.6), (0.3, 1.5)])
def test_power_pacf_local_slope_is_minus_beta(c, eta):
    w = np.array([1e6, 1.001e6])
    gap = PowerPACF(c, eta).bayes_gap(w)
    slope = np.diff(np.log(gap)) / np.diff(np.log(w))
    assert slope[0] == pytest.approx(-(2 * eta - 1), abs=1e-3)


@given(st.floats(0.05, 0.95), st.floats(0.55, 2.0), st.integers(0, 10**4))
def test_power_pacf_gap_matches_the_direct_sum_and_its_bounds(c, eta, w):
    src = PowerPACF(c, eta)
    k = np.arange(w + 1, w + 200001, dtype=float)
    direct = -0.5 * np.log1p(-(c**2) * k ** (-2 * eta)).sum()
    tail = 0.5 * c**2 * float(mpmath.zeta(2 * eta, w + 200001))  # the rest, to first order
    gap = float(src.bayes_gap(w))
    assert gap == pytest.approx(direct + tail, rel=1e-6, abs=0)
    low, high = src.gap_bounds(w)
    assert low * (1 - 1e-12) <= gap <= high * (1 + 1e-12)


def test_geometric_pacf_gap_matches_the_direct_sum():
    src = GeometricPACF(0.8, 0.7)
    for w in (0, 1, 5, 20):
        k = np.arange(w + 1, w + 400)
        assert src.bayes_gap(w) == pytest.approx(-0.5 * np.log1p(-(0.64) * 0.49**k).sum(), rel=1e-12, abs=0)


@pytest.mark.parametrize(("m", "r"), [(0.0, 1.5), (0.3, 1.5), (-1.2, 3.0), (1e-3, 1 + 1e-6), (2.0, 1.0), (5.0, 1.01)])
def test_gaussian_tv_matches_quadrature(m, r):
    f = lambda x: abs(stats.norm.pdf(x, m, 1) - stats.norm.pdf(x, 0, math.sqrt(r)))  # noqa: E731
    # the densities cross where (x-m)^2 - x^2/r = log r: give quad those kinks
    crossings = [z.real for z in np.roots([1 - 1 / r, -2 * m, m * m - math.log(r)]) if abs(z.imag) < 1e-12]
    points = sorted({0.0, m, *(x for x in crossings if -40 < x < 40)})
    ref = 0.5 * integrate.quad(f, -40, 40, points=points, limit=500, epsabs=1e-15)[0]
    assert gaussian_tv(m, r) == pytest.approx(ref, rel=1e-8, abs=1e-13)


def test_gaussian_kl_closed_form():
    m, r = 0.7, 2.5
    f = lambda x: stats.norm.pdf(x, m, 1) * (stats.norm.logpdf(x, m, 1) - stats.norm.logpdf(x, 0, math.sqrt(r)))  # noqa: E731
    assert gaussian_kl(m, r) == pytest.approx(integrate.quad(f, -40, 40)[0], rel=1e-10, abs=0)


@pytest.mark.parametrize("source", [ARFIMA(0.3), PowerPACF(0.5, 0.8)])
def test_expected_tv_approaches_sqrt_of_variance_ratio_over_pi(source):
    exact = source.exact_curves([10**4, 10**5])
    r = np.exp(2 * exact.Delta)
    assert exact.delta / (np.sqrt(r - 1) / np.pi) == pytest.approx(1.0, abs=0.02)
    assert exact.reg_ratio == pytest.approx(np.pi / 2, rel=0.01, abs=0)


SQRT_2PI = math.sqrt(2 * math.pi)


def expected_tv_by_quadrature(r: float, shift_variance: bool = True) -> float:
    """E TV(N(e, 1), N(0, s)) with e ~ N(0, r - 1), by nested quadrature of |density difference|
    (Gauss-Hermite over e): s = r is the window's own predictor, s = 1 a suffix-only predictor that
    keeps the window's mean but claims the full past's variance. Independent of gaussian_tv."""
    s = r if shift_variance else 1.0

    def tv_at(z: float) -> float:
        e = math.sqrt(r - 1) * z
        def f(x: float) -> float:
            return abs(math.exp(-0.5 * (x - e) ** 2) - math.exp(-0.5 * x * x / s) / math.sqrt(s)) / SQRT_2PI

        roots = [x.real for x in np.roots([1 - 1 / s, -2 * e, e * e - math.log(s)]) if abs(x.imag) < 1e-12] \
            if s != 1.0 else [e / 2]
        pts = sorted({e, 0.0, *(x for x in roots if -40 < x < 40)})
        return 0.5 * integrate.quad(f, -40, 40, points=pts, limit=500, epsabs=1e-14)[0]

    # TV(e) is even in e with a kink at e = 0 on the scale of r - 1: integrate the half-line adaptively
    half = integrate.quad(lambda z: tv_at(z) * math.exp(-0.5 * z * z), 0.0, 12.0, epsabs=0.0, epsrel=1e-9,
                          limit=200)[0]
    return 2.0 * half / SQRT_2PI


@pytest.mark.parametrize(("source", "w"), [(ARFIMA(0.3), 1), (ARFIMA(0.3), 16), (PowerPACF(0.5, 0.8), 4),
                                           (GeometricPACF(0.6, 0.7), 2)])
def test_bayes_tv_gap_and_the_tv_converse_against_independent_quadrature(source, w):
    """Delta_TV(w) = E TV(p, pbar^(w)) by nested quadrature equals the exact curve's delta (the window's
    Gaussian predictor is pbar), and a different suffix-only predictor -- the window's mean with the
    full past's variance -- has E TV >= Delta_TV / 2 (the converse), both computed independently."""
    exact = source.exact_curves([w])
    r = float(np.exp(2 * exact.Delta[0]))
    if isinstance(source, ARFIMA):
        assert r == pytest.approx(math.exp(2 * arfima_gap_reference(source.d, w)), rel=1e-12, abs=0)
    gap_tv = expected_tv_by_quadrature(r)
    assert exact.Delta_TV[0] == pytest.approx(gap_tv, rel=1e-6, abs=0)
    assert exact.delta[0] == pytest.approx(gap_tv, rel=1e-6, abs=0)
    other = expected_tv_by_quadrature(r, shift_variance=False)
    assert other >= gap_tv / 2
    assert np.diff(source.exact_curves([w, 2 * w]).Delta)[0] < 0


def test_levinson_autocovariance_matches_the_arfima_closed_form():
    src = ARFIMA(0.35)
    general = ARFIMA.__mro__[1].autocovariance(src, 300)
    np.testing.assert_allclose(general, src.autocovariance(300), rtol=1e-10)


@pytest.mark.parametrize(("source", "method", "n", "paths"), [
    (ARFIMA(0.3), "levinson", 1000, 400),
    (PowerPACF(0.6, 0.9), "levinson", 1000, 400),
    (ARFIMA(0.3), "circulant", 20000, 40),
])
def test_sample_autocovariances_agree_with_theory_within_standard_errors(source, method, n, paths):
    x = source.sample_path(n, np.random.default_rng(7), paths=paths, method=method)
    gamma = source.autocovariance(10)
    for lag in (0, 1, 2, 5, 10):
        per_path = (x[:, : n - lag] * x[:, lag:]).mean(axis=1)  # paths are independent
        se = per_path.std(ddof=1) / math.sqrt(paths)
        assert abs(per_path.mean() - gamma[lag]) < 4 * se, (lag, per_path.mean(), gamma[lag], se)


def test_sampled_curves_average_to_the_exact_curves():
    src = ARFIMA(0.3)
    w = [1, 8, 64, 512]
    curves = src.sample_curves(w, 4000, np.random.default_rng(1))
    exact = src.exact_curves(w)
    se = curves.tv.std(axis=0) / np.sqrt(4000)
    assert np.all(np.abs(curves.mean("tv") - exact.delta) < 4 * se)
    se = curves.bayes_kl.std(axis=0) / np.sqrt(4000)
    assert np.all(np.abs(curves.mean("bayes_kl") - exact.Delta) < 4 * se)
