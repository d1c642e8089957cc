"""Discrete sources: the power-law copy source and the hidden Markov sources."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wzbounds as wz
from wzbounds.strategies import copy_sources, hmm_sources
from wzbounds.fit import exponent_ratio_interval, fit_power
from wzbounds.sources import MarkovHMM, PowerLawCopy, RenewalHMM


def copy_law(src: PowerLawCopy, path: np.ndarray, L: int) -> np.ndarray:
    """The next-token law from the last L tokens, built term by term."""
    T = path.size
    p = np.full(src.V, (1 - src.lam) / src.V + src.lam * float(src.tail_mass(L)) / src.V)
    pi = src.lag_masses(L)
    for lag in range(1, L + 1):
        p[path[T - lag]] += src.lam * pi[lag - 1]
    return p


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_copy_per_sample_curves_match_brute_force(seed):
    src = PowerLawCopy(V=300, lam=0.6, alpha=0.7, context=256)
    windows = np.array([1.0, 3.0, 17.0, 100.0, 256.0])
    curves = src.sample_curves(windows, 3, np.random.default_rng(seed), mu=0.05)
    paths = src.sample_path(256, np.random.default_rng(seed), paths=3)
    for i, path in enumerate(paths):
        full = copy_law(src, path, 256)
        for j, w in enumerate(windows.astype(int)):
            q = copy_law(src, path, w)
            assert curves.tv[i, j] == pytest.approx(float(wz.tv(full, q)), abs=1e-13)
            assert curves.kl[i, j] == pytest.approx(float(wz.smoothed_kl(full, q, 0.05)), rel=1e-9, abs=1e-15)


def test_copy_paths_draw_fresh_symbols_at_the_right_rate():
    # with V = 1e9 a symbol never seen before is a fresh draw: probability (1 - lam) + lam Pi_{>t}
    src = PowerLawCopy(V=10**9, lam=0.5, alpha=0.8, context=64)
    x = src.sample_path(400, np.random.default_rng(3), paths=400)
    new = np.array([[x[i, t] not in set(x[i, :t]) for t in range(1, 400)] for i in range(400)])
    t = np.arange(1, 400)
    expected = (1 - 0.5) + 0.5 * src.tail_mass(t)
    se = np.sqrt(expected * (1 - expected) / (400 * 399))
    assert abs(new.mean() - expected.mean()) < 4 * se.mean()


def test_copy_delta_approaches_the_large_v_asymptote():
    src = PowerLawCopy(V=10**7, lam=0.5, alpha=0.5, context=2**16)
    curves = src.sample_curves([4, 16, 64], 20, np.random.default_rng(0))
    ratio = curves.mean("tv") / (src.asymptote([4, 16, 64]) - src.asymptote(2**16))
    np.testing.assert_allclose(ratio, 1.0, atol=0.03)


def test_copy_finite_v_steepens_the_slope_once_w_reaches_alpha_v():
    src = PowerLawCopy(V=200, lam=0.5, alpha=0.5, context=8192)
    w = np.array([2.0, 4.0, 400.0, 800.0])
    m = src.sample_curves(w, 30, np.random.default_rng(0)).mean("tv")
    small, large = -np.log(m[1] / m[0]) / np.log(2), -np.log(m[3] / m[2]) / np.log(2)
    assert small < 0.6 and large > small + 0.1


def test_copy_kl_exponent_does_not_double():
    src = PowerLawCopy(V=50000, lam=0.5, alpha=0.5, context=4096)
    curves = src.sample_curves([1, 2, 4, 8, 16, 32, 64, 128, 256, 512], 60, np.random.default_rng(0))
    R = (curves.tv**2).mean(axis=0) / curves.mean("tv") ** 2
    assert R.max() < 1.05  # TV nearly deterministic: REG with R ~ 1
    ratio = exponent_ratio_interval(curves, "kl", "tv", n_boot=300)
    assert not ratio.covers(2.0) and ratio.high < 1.9


def dense_transition(src: RenewalHMM) -> np.ndarray:
    """The (K*A) x (K*A) transition matrix of (regime, age), written out entry by entry."""
    K, A = src.prior.shape
    M = np.zeros((K * A, K * A))
    for k, a in itertools.product(range(K), range(A)):
        h = src.hazard[a]
        if a + 1 < A:
            M[k * A + a, k * A + a + 1] += 1 - h
        for k2 in range(K):
            M[k * A + a, k2 * A] += h * src.Q[k, k2]
    return M


def next_token_law(src: RenewalHMM, tokens) -> np.ndarray:
    """P(X_{n+1} = . | tokens) from the dense chain started at the stationary law."""
    M = dense_transition(src)
    K, A = src.prior.shape
    emit = np.repeat(src.B, A, axis=0)  # (K*A, V)
    alpha = src.prior.ravel().copy()
    for x in tokens:
        alpha = (alpha * emit[:, x]) @ M
    return alpha @ emit / alpha.sum()


@pytest.mark.parametrize("source", [
    RenewalHMM(((0.7, 0.2, 0.1), (0.1, 0.3, 0.6)), ((0.2, 0.8), (0.6, 0.4)), gamma=1.3, max_age=5, context=6),
    MarkovHMM(((0.8, 0.2), (0.3, 0.7)), ((0.95, 0.05), (0.1, 0.9)), context=6),
])
def test_hmm_filters_match_the_dense_chain_and_the_bayes_predictor(source):
    rng = np.random.default_rng(0)
    x = source.sample_path(6, rng, paths=8)
    full = source._filter(x)
    for i in range(8):
        assert full[i] == pytest.approx(next_token_law(source, x[i]), abs=1e-12)
    # the window filter is E[p | suffix]: average the full law over every possible far past
    V = source.B.shape[1]
    suffix = x[0, 3:]
    pasts = np.array(list(itertools.product(range(V), repeat=3)))
    seqs = np.concatenate([pasts, np.tile(suffix, (len(pasts), 1))], axis=1)
    M = dense_transition(source)
    K, A = source.prior.shape
    emit = np.repeat(source.B, A, axis=0)

    def prob(seq):
        a = source.prior.ravel().copy()
        for t in seq[:-1]:
            a = (a * emit[:, t]) @ M
        return float(a @ emit[:, seq[-1]])

    weights = np.array([prob(s) for s in seqs])
    laws = np.array([next_token_law(source, s) for s in seqs])
    pbar = weights @ laws / weights.sum()
    assert source._filter(suffix[None])[0] == pytest.approx(pbar, abs=1e-12)


def test_hmm_curves_are_bayes_gaps():
    src = RenewalHMM(max_age=64, context=128)
    c = src.sample_curves([1, 4, 16], 20, np.random.default_rng(0))
    np.testing.assert_array_equal(c.tv, c.bayes_tv)
    assert np.all(c.kl <= c.bayes_kl + 1e-12)  # smoothing never increases KL


def test_renewal_hmm_decays_polynomially_and_markov_geometrically():
    w = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    renewal = RenewalHMM(max_age=512, context=1024).sample_curves(w, 150, np.random.default_rng(0)).mean("tv")
    fit = fit_power(w, renewal)
    assert 0.7 < fit.alpha < 2.5
    markov = MarkovHMM(context=256).sample_curves(w[:5], 150, np.random.default_rng(0)).mean("tv")
    ratios = markov[1:] / markov[:-1]
    assert np.all(ratios < 0.8)


@settings(max_examples=15, deadline=None)
@given(hmm_sources(), st.integers(0, 2**16))
def test_random_hmms_converse_le_bayes_gap_le_shorter_windows(source, seed):
    """Per sample the window filter is the Bayes predictor: bayes_tv = tv, and smoothed KL
    never exceeds the unsmoothed gap; the converse Delta_TV/2 lies below the sliding window."""
    c = source.sample_curves([1, 2, 8, 32], 30, np.random.default_rng(seed))
    np.testing.assert_array_equal(c.tv, c.bayes_tv)
    assert np.all(c.kl <= c.bayes_kl + 1e-12)
    assert np.all(c.mean("bayes_tv") / 2 <= c.mean("tv"))


@settings(max_examples=10, deadline=None)
@given(copy_sources(max_context=256), st.integers(0, 2**16))
def test_random_copy_sources_give_valid_curves(source, seed):
    c = source.sample_curves([1, 4, 16], 5, np.random.default_rng(seed))
    assert np.all((c.tv >= 0) & (c.tv <= source.lam))  # only the copy part can move
    assert np.all((c.kl >= 0) & (c.kl <= np.log(source.V / c.mu)))
