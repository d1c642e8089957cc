"""Achievability, converse, the Theta band and exponent bookkeeping (results 2-5)."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import wzbounds as wz

alphas = st.floats(0.05, 4.0)
constants = st.floats(1e-2, 1e2)
targets = st.floats(1e-8, 1.0)


@given(targets, constants, st.floats(1e-3, 1.0), alphas)
def test_converse_never_exceeds_achievability_on_the_band(eps, C, frac, alpha):
    band = wz.theta_band_tv(eps, C=C, alpha=alpha, c_B=2 * C * frac)
    assert band.lower <= band.upper
    assert band.ratio >= 1.0


@given(targets, constants, st.floats(1e-3, 1.0), alphas)
def test_band_ends_solve_their_laws(eps, C, frac, alpha):
    c_B = 2 * C * frac
    band = wz.theta_band_tv(eps, C=C, alpha=alpha, c_B=c_B)
    if (c_B / 2) / eps >= 1:  # the root is a window >= w0 = 1: the lower law reaches eps there
        assert (c_B / 2) * band.lower ** -alpha == pytest.approx(eps, rel=1e-9, abs=0)
    else:  # below w0 = 1 the lower end is the trivial 1
        assert band.lower == 1.0
    assert C * band.upper ** -alpha <= eps * (1 + 1e-12)


def test_vectorised_band_equals_the_bound_object_pointwise():
    eps = np.logspace(-1, -6, 11)
    alpha = np.linspace(0.2, 1.5, 11)
    band = wz.theta_band_tv(eps, C=1.3, alpha=alpha, c_B=0.7)
    for i in range(11):
        one = wz.sliding_window_tv(1.3, alpha[i], c_B=0.7).band(eps[i])
        assert band.lower[i] == pytest.approx(float(one.lower), rel=1e-14, abs=0)
        assert band.upper[i] == float(one.upper)


def test_theta_band_at_the_paper_exponent_against_50_digit_values():
    """alpha = 0.44, C = 1, eps = 1e-3: the window and the band's width computed in mpmath."""
    mp.mp.dps = 50
    root = mp.power(mp.mpf(1000), 1 / mp.mpf("0.44"))
    assert float(wz.achievable_window_tv(1e-3, C=1.0, alpha=0.44)) == float(mp.ceil(root)) == 6579333.0
    band = wz.theta_band_tv(1e-3, C=1.0, alpha=0.44, c_B=1.0)
    assert float(band.lower) == pytest.approx(float(mp.power(mp.mpf(500), 1 / mp.mpf("0.44"))), rel=1e-13, abs=0)
    assert float(band.ratio) == pytest.approx(float(mp.ceil(root) / mp.power(mp.mpf(500), 1 / mp.mpf("0.44"))),
                                              rel=1e-13)


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
    with pytest.raises(ValueError, match="c_B / 2 must be <= C"):
        wz.theta_band_tv(1e-2, C=1.0, alpha=0.5, c_B=3.0)
    with pytest.raises(ValueError, match="beta is required"):
        wz.sliding_window_kl(1.0, 0.5, V=10, mu=0.1, c_B=0.1)


def test_no_converse_without_a_bayes_risk_law():
    """Finding 4: PTS alone gives only the upper end; the lower end needs BR in the same distortion."""
    bound = wz.sliding_window_tv(1.0, 0.44)
    assert bound.converse is None
    with pytest.raises(ValueError, match="no converse"):
        bound.converse_window(1e-3)
    assert "lower end: none" in bound.describe()[1]
    assert "PTS" in bound.describe()[0]
    assert "last w tokens" in wz.sliding_window_tv(1.0, 0.44, c_B=0.5).describe()[1]


@pytest.mark.parametrize(
    ("reg", "fd", "beta_mu", "beta", "achievable", "converse", "matched"),
    [
        (True, True, None, None, 0.88, 0.88, True),
        (False, True, None, None, 0.44, 0.88, False),
        (True, False, None, None, 0.88, None, False),
        (False, False, 0.6, None, 0.44, 0.6, False),
        (True, True, 0.88, None, 0.88, 0.88, True),
        (True, False, None, 0.88, 0.88, None, False),  # BR on the unsmoothed Delta: no KL_mu converse
        (False, False, None, 0.5, 0.44, None, False),
    ],
)
def test_exponent_table_in_kl_mu(reg, fd, beta_mu, beta, achievable, converse, matched):
    row = wz.exponents(0.44, reg=reg, fd=fd, beta_mu=beta_mu, beta=beta).row("kl_mu")
    assert row.achievable == pytest.approx(achievable)
    assert row.converse == (None if converse is None else pytest.approx(converse))
    assert row.matched is matched
    if not reg and fd:
        assert row.gap_factor == pytest.approx(2.0)


def test_exponent_table_never_gives_a_kl_mu_converse_from_the_unsmoothed_gap():
    """Finding 1: alpha = beta = 1/2 (the far-symbol example) used to print 'meet ... in KL_mu'."""
    table = wz.exponents(0.5, reg=False, fd=False, beta=0.5)
    assert table.row("kl_mu").converse is None and not table.row("kl_mu").matched
    assert table.row("kl").converse == 0.5 and table.row("kl").achievable is None
    assert "Theta" not in table.reason


def test_exponent_table_in_tv_and_kl():
    table = wz.exponents(0.44, reg=True, fd=False, beta_tv=0.44, beta=0.88)
    assert table.row("tv").matched and table.row("tv").converse_from.startswith("BR in TV")
    assert table.row("kl").converse == pytest.approx(0.88) and not table.row("kl").matched
    assert wz.exponents(0.44, reg=False, fd=True).row("tv").converse == pytest.approx(0.44)


def test_exponent_table_refuses_a_converse_below_the_achievable_exponent():
    with pytest.raises(ValueError, match="kl_mu converse exponent 0.5 .* is below"):
        wz.exponents(0.44, reg=True, fd=False, beta_mu=0.5)
    with pytest.raises(ValueError, match="tv converse exponent 0.3"):
        wz.exponents(0.44, reg=True, fd=False, beta_tv=0.3)


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


@given(st.lists(st.tuples(st.floats(1e-6, 0.5), alphas, constants), min_size=2, max_size=6))
def test_achievable_window_is_vectorised_and_agrees_with_mpmath(triples):
    """Distinct (eps, alpha, C) at once against a 50-digit reference: ceil((C/eps)^(1/alpha)), floored
    at 1, wherever the root is not within 1e-9 of a whole number (where float64 cannot decide)."""
    eps, alpha, C = (np.array(v) for v in zip(*triples))
    mp.mp.dps = 50
    roots = [(mp.mpf(c) / mp.mpf(e)) ** (1 / mp.mpf(a)) for e, a, c in triples]
    assume(all(r < 1e15 and abs(r - mp.nint(r)) > 1e-9 * r for r in roots))
    w = wz.achievable_window_tv(eps, C=C, alpha=alpha)
    assert w.tolist() == [max(1.0, float(mp.ceil(r))) for r in roots]


def test_a_tv_lower_law_gives_kl_converses_through_pinsker():
    """BR in TV with beta_tv: Delta_mu >= 2 (1-mu)^2 Delta_TV^2 and Delta >= 2 Delta_TV^2 give lower
    laws of exponent 2 beta_tv in KL_mu and KL (there was 'no lower law for Delta_mu')."""
    table = wz.exponents(0.44, reg=True, fd=False, beta_tv=0.5)
    assert table.row("kl_mu").converse == 1.0 and "smoothed Pinsker" in table.row("kl_mu").converse_from
    assert table.row("kl").converse == 1.0 and "Pinsker" in table.row("kl").converse_from
    assert wz.exponents(0.44, reg=True, fd=False).row("kl_mu").converse is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"beta_tv": 0.7}, "beta_tv = 0.7 with FD"),
    ({"beta": 3.0}, "beta = 3 > 2 alpha = 1 with FD"),
    ({"beta_mu": 1.2}, "beta_mu = 1.2 > 2 alpha = 1 with FD"),
])
def test_exponents_with_fd_refuse_a_bayes_risk_rate_fd_contradicts(kwargs, message):
    """FD and two-sided PTS pin Delta_TV to order w^-alpha: a two-sided BR in TV with another exponent,
    or a KL gap decaying faster than w^-2alpha, contradicts them (they printed 'exponents meet')."""
    with pytest.raises(ValueError, match=message):
        wz.exponents(0.5, reg=True, fd=True, **kwargs)


def test_without_fd_a_slower_tv_lower_law_is_accepted_and_is_the_converse():
    assert wz.exponents(0.5, reg=True, fd=False, beta_tv=0.7).row("tv").converse == 0.7


def test_ends_below_w0_follow_from_the_hypotheses_only():
    """The laws hold from w0 = 100 on. At eps = 0.1 the converse root 6.25 < w0 excludes nothing (end 1);
    at w = 4 the unavoidable distortion is the lower law at w0 (the gap never grows with w), and
    nothing is guaranteed. Closed forms by hand: 0.25 * 100^-0.65 and (0.25 / 1e-3)^(1/0.65)."""
    bound = wz.sliding_window_tv(1.0, 0.65, c_B=0.5, w0=100)
    assert bound.converse_window(0.1) == 1.0
    assert bound.converse_window(1e-3) == pytest.approx((0.25 / 1e-3) ** (1 / 0.65), rel=1e-14)
    upper, lower = bound.distortion_at([4.0, 200.0])
    assert np.isnan(upper[0]) and upper[1] == pytest.approx(200.0**-0.65, rel=1e-14)
    assert lower[0] == pytest.approx(0.25 * 100.0**-0.65, rel=1e-14)
    assert lower[1] == pytest.approx(0.25 * 200.0**-0.65, rel=1e-14)


def test_kv_memory_caps_sliding_layers_at_their_window():
    """entry_bytes * sum_l min(w, W_l), by hand: 2 sliding layers at 8, 1 global, 2 x 3 x 4 x 2 bytes."""
    kv = wz.KVGeometry.sliding(3, 3, 4, "bfloat16", window=8, sliding_layers=2)
    entry = 2 * 3 * 4 * 2
    assert kv.cache_bytes([4, 8, 100]).tolist() == [3 * 4 * entry, 3 * 8 * entry, (2 * 8 + 100) * entry]
    assert kv.sliding_layers == 2 and wz.KVGeometry(3, 3, 4, 2.0, layer_windows=(np.inf,) * 3).layer_windows is None
    with pytest.raises(ValueError, match="one window per layer"):
        wz.KVGeometry(3, 3, 4, 2.0, layer_windows=(8.0, 8.0))
    with pytest.raises(ValueError, match="layer_windows must be >= 1"):
        wz.KVGeometry(2, 3, 4, 2.0, layer_windows=(0.0, 8.0))
