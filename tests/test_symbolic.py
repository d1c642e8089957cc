"""symbolic == numeric: every sympy expression against its numeric evaluator."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import wzbounds as wz
from wzbounds import blockmarkov as bm
from wzbounds import symbolic as S

rng = np.random.default_rng(20261123)
N = 500
alpha = rng.uniform(0.05, 3.0, N)
eps = 10 ** rng.uniform(-6, 0, N)
C = 10 ** rng.uniform(-2, 1, N)
frac = rng.uniform(0.01, 1.0, N)
mu = rng.uniform(0.01, 0.99, N)
V = rng.integers(3, 100000, N)
b = rng.integers(1, 10**6, N)


def close(x, y, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float), rtol=rtol)


def test_achievable_and_converse_windows():
    ach = S.numeric(S.achievable_window_tv, S.C, S.eps, S.alpha)(C, eps, alpha)
    close(ach, [wz.PowerLaw(C[i], alpha[i]).real_window(eps[i]) for i in range(N)])
    band = wz.theta_band_tv(eps, C=C, alpha=alpha, c_B=2 * C * frac)
    root = S.numeric(S.converse_window_tv, S.c_B, S.eps, S.beta)(2 * C * frac, eps, alpha)
    close(np.maximum(root, 1.0), band.lower)  # below w0 = 1 the end is the trivial 1
    # the whole window is the real root rounded up (and at least w0 = 1)
    assert np.all(band.upper >= ach * (1 - 1e-12))
    assert np.all(band.upper - np.maximum(ach, 1.0) < 1 + 1e-12 * band.upper)
    full = root >= 1
    close(S.numeric(S.band_ratio_tv, S.C, S.c_B, S.alpha)(C, 2 * C * frac, alpha)[full], (ach / band.lower)[full])


def test_band_ratio_is_the_simplified_quotient_of_the_two_windows():
    quotient = S.achievable_window_tv / S.converse_window_tv.subs(S.beta, S.alpha)
    assert sp.simplify(sp.expand_power_base(quotient / S.band_ratio_tv, force=True)) == 1


def test_tv_converse_with_its_own_exponent():
    beta = alpha * rng.uniform(1.0, 2.0, N)
    fn = S.numeric(S.converse_window_tv, S.c_B, S.eps, S.beta)
    for i in range(0, N, 25):
        bound = wz.sliding_window_tv(C[i], alpha[i], c_B=2 * C[i] * frac[i], beta=beta[i])
        root = fn(2 * C[i] * frac[i], eps[i], beta[i])
        close(root if root >= 1 else 1.0, bound.converse_window(eps[i]))  # below w0 = 1 the end is the trivial 1


def test_kl_mu_converse_window():
    beta = 2 * alpha * rng.uniform(1.0, 2.0, N)
    fn = S.numeric(S.converse_window_kl, S.c_B, S.eps, S.beta)
    for i in range(0, N, 25):
        upper = wz.sliding_window_kl(C[i], alpha[i], V=int(V[i]), mu=mu[i], R=1.5).achievability
        c_B = upper.C * frac[i]
        bound = wz.sliding_window_kl(C[i], alpha[i], V=int(V[i]), mu=mu[i], R=1.5, c_B=c_B, beta=beta[i])
        root = fn(c_B, eps[i], beta[i])
        close(root if root >= 1 else 1.0, bound.converse_window(eps[i]))  # below w0 = 1 the end is the trivial 1
        if root < 1:
            continue
        # the defining property, in mpmath at 50 digits: the lower law at the window is eps
        with mpmath.workdps(50):
            w = mpmath.mpf(float(bound.converse_window(eps[i])))
            assert float(mpmath.mpf(c_B) * w ** -mpmath.mpf(beta[i]) / mpmath.mpf(eps[i])) == pytest.approx(1, rel=1e-12)


@pytest.mark.parametrize("reg", [True, False])
def test_kl_window_for_a_given_alphabet_matches_the_general_form(reg):
    general = S.achievable_window_kl_reg if reg else S.achievable_window_kl_no_reg
    for v in (3, 17, 49152):
        assert sp.simplify(S.kl_achievable_window(v, reg) - general.subs(S.V, v)) == 0
    binary = S.numeric(S.kl_achievable_window(2, reg), S.mu, S.R, S.C, S.eps, S.alpha)
    for i in range(0, N, 50):
        bound = wz.sliding_window_kl(C[i], alpha[i], V=2, mu=mu[i], R=1.3 if reg else None)
        close(binary(mu[i], 1.3, C[i], eps[i], alpha[i]), bound.achievability.real_window(eps[i]))


def test_sandwich_constants():
    close(S.numeric(S.pinsker_constant, S.mu)(mu), wz.pinsker_constant(mu))
    close(S.numeric(S.reverse_pinsker_constant, S.V, S.mu)(V, mu), wz.reverse_pinsker_constant(V, mu))
    close(S.numeric(S.reverse_pinsker_constant_binary, S.mu)(mu), wz.reverse_pinsker_constant(2, mu))


@pytest.mark.parametrize(("V_", "mu_"), [(3, 0.1), (50, 0.3), (49152, 0.1), (1000, 0.9)])
def test_the_reverse_pinsker_constant_is_the_sharp_ratio_of_kl_mu_to_tv_squared(V_, mu_):
    """Independent of both forms above: KL_mu(p, q) / TV(p, q)^2 computed in mpmath on the extremal
    family (p puts t on a symbol q gives 0, q puts t on another that p gives 0, equal elsewhere)
    rises to K(V, mu) = V (1-mu)^2 / mu as t -> 0, and never exceeds it."""
    with mpmath.workdps(60):
        m, n = mpmath.mpf(mu_), mpmath.mpf(V_)

        def ratio(t):
            small, big = m / n, (1 - m) * t + m / n  # the smoothed masses on the two special symbols
            kl = small * mpmath.log(small / big) + big * mpmath.log(big / small)  # the rest cancels: p = q there
            return kl / t**2

        values = [ratio(mpmath.mpf(10) ** -k) for k in (2, 6, 12, 20)]
        K = n * (1 - m) ** 2 / m
        assert all(v <= K for v in values) and values[0] < values[1] < values[2] < values[3]
        assert float(values[-1]) == pytest.approx(float(wz.reverse_pinsker_constant(V_, mu_)), rel=1e-12)


@pytest.mark.parametrize("reg", [True, False])
def test_kl_achievable_windows(reg):
    R = rng.uniform(1, 3, N)
    expr = S.achievable_window_kl_reg if reg else S.achievable_window_kl_no_reg
    fn = S.numeric(expr, S.V, S.mu, S.R, S.C, S.eps, S.alpha)
    for i in range(0, N, 25):
        bound = wz.sliding_window_kl(C[i], alpha[i], V=int(V[i]), mu=mu[i], R=R[i] if reg else None)
        close(fn(V[i], mu[i], R[i], C[i], eps[i], alpha[i]), bound.achievability.real_window(eps[i]))


def test_kappa_and_limits():
    a = alpha[np.abs(alpha - 1) > 1e-3]
    close(S.numeric(S.kappa, S.alpha)(a), bm.kappa(a))
    close(S.numeric(S.block_average_limit, S.C, S.alpha, S.b)(C, alpha, b), bm.limit_average(C, alpha, b))
    peak, mean = bm.memory_ratio_limits(a)
    close(S.numeric(S.peak_ratio_limit, S.alpha)(a), peak)
    close(S.numeric(S.mean_ratio_limit, S.alpha)(a), mean)
    assert S.peak_ratio_limits() == (sp.E / 2, 2)


def test_kappa_series_about_one_matches_the_numeric_kappa_nearby():
    series = S.numeric(S.kappa_near_one(5), S.alpha)
    a = 1 + np.linspace(-1e-3, 1e-3, 41)
    close(series(a), bm.kappa(a), rtol=1e-13)
    assert sp.limit(S.kappa, S.alpha, 1) == sp.log(2)


def test_block_average_sum_and_zeta_forms_match_the_numeric_average():
    for a_val, b_val in [(0.44, 3), (1.7, 5), (0.9, 12)]:
        as_sum = S.block_average_sum.subs({S.C: 1, S.alpha: sp.Rational(str(a_val)), S.b: b_val}).doit()
        close(float(as_sum), bm.average_distortion(1.0, a_val, b_val), rtol=1e-14)
    fn = S.numeric(S.block_average_zeta, S.C, S.alpha, S.b)
    a = alpha[alpha > 1.01][:20]  # scipy's Hurwitz zeta is defined for alpha > 1 only
    bb = b[: len(a)]
    close(fn(1.0, a, bb), bm.average_distortion(1.0, a, bb), rtol=1e-9)
    with mpmath.workdps(40):
        ref = (mpmath.zeta(0.44, 1000) - mpmath.zeta(0.44, 2000)) / 1000
    close(float(ref), bm.average_distortion(1.0, 0.44, 1000), rtol=1e-13)


@pytest.mark.parametrize("order", [1, 2, 3, 6, 10])
def test_block_expansion_symbolic_equals_numeric_terms(order):
    fn = S.numeric(S.block_expansion(order), S.alpha, S.b)
    a = alpha[np.abs(alpha - 1) > 1e-3]
    bb = b[: len(a)].astype(float)
    close(fn(a, bb), bm.expansion_terms(a, bb, order).sum(axis=-1))


def test_memory_expressions():
    close(S.numeric(S.peak_memory, S.b)(b), bm.peak_memory(b))
    close(S.numeric(S.mean_memory, S.b)(b), bm.mean_memory(b))
    assert math.isclose(float(S.peak_ratio_limit.subs(S.alpha, sp.Rational(44, 100)).evalf(30)), 1.37095, rel_tol=1e-5)
