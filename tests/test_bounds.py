"""Achievability, converse, the Theta band and exponent bookkeeping (results 2-5)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import wzbounds as wz

alphas = st.floats(0.05, 4.0)
constants = st.floats(1e-2, 1e2)
targets = st.floats(1e-8, 1.0)


@st.composite
def tv_bounds(draw):
    C, alpha = draw(constants), draw(alphas)
    c_B = draw(st.floats(1e-3, 1.0)) * 2 * C
    return wz.sliding_window_tv(C, alpha, c_B=c_B, w0=draw(st.sampled_from([1.0, 4.0, 32.0])))


@st.composite
def kl_bounds(draw):
    C, alpha = draw(st.floats(1e-2, 1.0)), draw(alphas)
    V, mu = draw(st.integers(2, 50000)), draw(st.floats(1e-3, 0.9))
    R = draw(st.one_of(st.none(), st.floats(1.0, 3.0)))
    upper = wz.sliding_window_kl(C, alpha, V=V, mu=mu, R=R).achievability
    beta = upper.alpha * draw(st.floats(1.0, 3.0))
    c_B = upper.C * draw(st.floats(1e-3, 1.0))
    return wz.sliding_window_kl(C, alpha, V=V, mu=mu, R=R, c_B=c_B, beta=beta)


@settings(max_examples=50, deadline=None)
@given(st.one_of(tv_bounds(), kl_bounds()), st.integers(0, 2**16))
def test_every_constructed_bound_passes_conformance(bound, seed):
    assert wz.check_bound(bound, n=60, seed=seed).ok


@given(targets, constants, st.floats(1e-3, 1.0), alphas)
def test_converse_never_exceeds_achievability_on_the_band(eps, C, frac, alpha):
    band = wz.theta_band_tv(eps, c=2 * C * frac, C=C, alpha=alpha)
    assert band.lower <= band.upper
    assert band.ratio >= 1.0


@given(targets, constants, st.floats(1e-3, 1.0), alphas)
def test_band_ends_solve_their_laws(eps, C, frac, alpha):
    c = 2 * C * frac
    band = wz.theta_band_tv(eps, c=c, C=C, alpha=alpha)
    assert (c / 2) * band.lower ** -alpha == pytest.approx(eps, rel=1e-9)
    assert C * band.upper ** -alpha <= eps * (1 + 1e-12)


def test_vectorised_band_equals_the_bound_object_pointwise():
    eps = np.logspace(-1, -6, 11)
    alpha = np.linspace(0.2, 1.5, 11)
    band = wz.theta_band_tv(eps, c=0.7, C=1.3, alpha=alpha)
    for i in range(11):
        one = wz.sliding_window_tv(1.3, alpha[i], c_B=0.7).band(eps[i])
        assert band.lower[i] == pytest.approx(float(one.lower), rel=1e-14)
        assert band.upper[i] == float(one.upper)


def test_theta_band_matches_the_paper_numbers():
    # alpha = 0.44, C = 1, eps = 1e-3: w_ach = ceil(1000^(1/0.44)).
    w = wz.achievable_window_tv(1e-3, C=1.0, alpha=0.44)
    assert w == np.ceil(10 ** (3 / 0.44))
    assert wz.theta_band_tv(1e-3, c=1.0, C=1.0, alpha=0.44).ratio == pytest.approx(2 ** (1 / 0.44), rel=1e-6)


def test_kl_constant_doubles_the_exponent_only_under_reg():
    with_reg = wz.sliding_window_kl(0.5, 0.4, V=100, mu=0.1, R=1.5).achievability
    without = wz.sliding_window_kl(0.5, 0.4, V=100, mu=0.1).achievability
    K = 100 * 0.81 / 0.1
    assert (with_reg.alpha, with_reg.C) == pytest.approx((0.8, K * 1.5 * 0.25))
    assert (without.alpha, without.C) == pytest.approx((0.4, K * 0.5))


def test_inconsistent_hypotheses_are_refused():
    with pytest.raises(ValueError, match="converse exponent"):
        wz.sliding_window_tv(1.0, 0.5, c_B=0.5, beta=0.3)
    with pytest.raises(ValueError, match="exceeds achievability"):
        wz.sliding_window_tv(1.0, 0.5, c_B=3.0)
    with pytest.raises(ValueError, match="c / 2 must be <= C"):
        wz.theta_band_tv(1e-2, c=3.0, C=1.0, alpha=0.5)
    with pytest.raises(ValueError, match="beta is required"):
        wz.sliding_window_kl(1.0, 0.5, V=10, mu=0.1, c_B=0.1)


@pytest.mark.parametrize(
    ("reg", "fd", "beta", "achievable", "converse", "matched"),
    [
        (True, True, None, 0.88, 0.88, True),
        (False, True, None, 0.44, 0.88, False),
        (True, False, None, 0.88, None, False),
        (False, False, 0.6, 0.44, 0.6, False),
        (True, True, 1.2, 0.88, 0.88, True),
    ],
)
def test_exponent_table(reg, fd, beta, achievable, converse, matched):
    table = wz.exponents(0.44, reg=reg, fd=fd, beta=beta)
    assert table.achievable_kl == pytest.approx(achievable)
    assert table.converse_kl == (None if converse is None else pytest.approx(converse))
    assert table.matched_kl is matched
    if not reg and fd:
        assert table.gap_factor_kl == pytest.approx(2.0)
        assert "factor-of-two" in table.reason


def test_exponent_table_refuses_a_converse_below_the_achievable_exponent():
    with pytest.raises(ValueError, match="beta=0.5 is below"):
        wz.exponents(0.44, reg=True, fd=False, beta=0.5)


@given(st.integers(1, 10**7), st.integers(1, 200), st.integers(1, 16), st.integers(1, 512))
def test_kv_memory_is_two_bytes_per_element_per_key_and_value(w, layers, heads, dim):
    g = wz.KVGeometry.with_dtype(layers, heads, dim, "bfloat16")
    mem = wz.cache_memory(w, V=49152, entropy_rate=1.5, kv=g)
    assert mem.kv_bytes == 2 * layers * heads * dim * 2 * w
    assert mem.raw_bits == pytest.approx(w * np.log2(49152))
    assert mem.coded_bits == pytest.approx(1.5 * w)


def test_known_geometries():
    assert wz.geometry("smollm2-135m", "float32").bytes_per_token == 2 * 30 * 3 * 64 * 4
    assert wz.geometry("qwen2.5-0.5b").bytes_per_token == 2 * 24 * 2 * 64 * 2
    assert wz.GIB == 1 << 30


@given(st.floats(1e-6, 0.5), alphas)
def test_achievable_window_is_vectorised_and_consistent(eps, alpha):
    assume(np.isfinite((1 / eps) ** (1 / alpha)))
    w = wz.achievable_window_tv(np.array([eps, eps]), C=1.0, alpha=np.array([alpha, alpha]))
    assert w[0] == w[1]
    assert w[0] == pytest.approx(float(wz.PowerLaw(1.0, alpha).window(eps)), rel=1e-13)
