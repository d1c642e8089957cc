"""Sequential Wyner-Ziv on the synthetic sources: suffix-only memory against summaries.

Gaussian sources (`gaussian_sequential`), in closed form:

For a Gaussian PACF source, what the whole past tells about the next value is
the scalar a = E[X_{t+1} | past], with prediction variance v_inf. A decoder
that knows the last k values (its side information Q) and receives a
description U of the past predicts with excess log loss

    eps = 1/2 log(1 + Var(a | U, Q) / v_inf)                          (nats),

and the least rate with Var(a | U, Q) <= v_inf (e^{2 eps} - 1) is the
Gaussian Wyner-Ziv rate (equal to the conditional rate, Y known or not at
the encoder):

    R(eps) = max(0, 1/2 log( (e^{2 Delta(k)} - 1) / (e^{2 eps} - 1) ))   (nats),

using Var(a | Q) = v_k - v_inf = v_inf (e^{2 Delta(k)} - 1). It grows like
1/2 log(1/eps). The suffix-only window instead needs Delta(w) <= eps, about
eps^(-1/beta) tokens: polynomially many real numbers against logarithmically
many nats. The recurrent summary that reaches the optimum is the predictor a
itself, quantised: one number, refreshed each step.

HMM sources (`hmm_sequential`), measured on sampled paths: the recurrent
summary is the filter state (the predictive law of the hidden state), kept
at a quantiser step chosen for the target excess. The excess of a step-s
quantiser is quadratic in s (KL is locally a chi-square), so its memory
(M - 1) log(1/s) grows like (M - 1)/2 log(1/eps): logarithmic again, while
the suffix-only window grows like eps^(-1/beta) on the renewal source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import positive, whole_at_least
from wzbounds.divergences import kl
from wzbounds.sources.gaussian import PACFGaussian
from wzbounds.sources.hmm import RenewalHMM


@dataclass(frozen=True)
class SequentialGaussian:
    """For each excess log loss eps (nats): the suffix-only window (tokens) and the optimal rate (nats)."""

    eps: NDArray[np.float64]
    window: NDArray[np.float64]
    rate: NDArray[np.float64]
    side_window: int


def smallest_window(source: PACFGaussian, eps: ArrayLike, max_window: float = 2.0**52) -> NDArray[np.float64]:
    """Smallest whole w with Delta(w) <= eps (Delta decreases in w), by doubling then bisection."""
    eps = np.atleast_1d(positive("eps", eps))
    out = np.empty_like(eps)
    for i, e in enumerate(eps):
        hi = 1.0
        while source.bayes_gap(hi) > e:
            hi *= 2
            if hi > max_window:
                raise ValueError(f"eps = {e:g} needs a window beyond {max_window:g} tokens")
        lo = hi / 2 if hi > 1 else 0.0
        while hi - lo > 1:
            mid = np.floor((lo + hi) / 2)
            lo, hi = (mid, hi) if source.bayes_gap(mid) > e else (lo, mid)
        out[i] = hi
    return out


def gaussian_sequential(source: PACFGaussian, eps: ArrayLike, side_window: int = 0) -> SequentialGaussian:
    """Suffix-only window and optimal one-step rate for each target excess log loss eps."""
    eps = np.atleast_1d(positive("eps", eps))
    k = int(whole_at_least("side_window", side_window, 0))
    spread = np.expm1(2 * float(source.bayes_gap(k)))
    rate = np.maximum(0.0, 0.5 * np.log(spread / np.expm1(2 * eps)))
    return SequentialGaussian(eps, smallest_window(source, eps), rate, k)


@dataclass(frozen=True)
class SequentialHMM:
    """For each excess log loss eps (nats), on an HMM source, measured over sampled paths:

    window          smallest grid window whose filter has mean KL(full || window) <= eps (tokens;
                    nan where no grid window reaches eps)
    window_memory   window * log V (nats): the tokens a suffix-only cache keeps
    step            largest quantiser step 2^(-j/4) of the filter state meeting eps
    summary_memory  (M - 1) log(1/step) (nats): the quantised filter state, M = K * max_age
                    coordinates at log(1/step) nats each, a recurrent summary of fixed size
    """

    eps: NDArray[np.float64]
    window: NDArray[np.float64]
    window_memory: NDArray[np.float64]
    step: NDArray[np.float64]
    summary_memory: NDArray[np.float64]
    windows: NDArray[np.float64]
    Delta: NDArray[np.float64]
    samples: int


def quantise_state(state: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """Each coordinate rounded to a multiple of `step`, renormalised (the largest one survives)."""
    flat = state.reshape(state.shape[0], -1)
    q = np.round(flat / step) * step
    empty = q.sum(axis=1) == 0
    q[empty, np.argmax(flat[empty], axis=1)] = 1.0
    return (q / q.sum(axis=1, keepdims=True)).reshape(state.shape)


def hmm_sequential(source: RenewalHMM, eps: ArrayLike, *, samples: int = 200, seed: int = 0,
                   max_bits: int = 40) -> SequentialHMM:
    """Suffix-only window against a quantised filter state, on sampled paths of an HMM source.

    Both memories are measured for the one-step excess log loss at the end of `source.context`
    tokens: KL(p(. | whole past) || p(. | kept)) averaged over paths, in nats. The window grid is
    the powers of two up to the context; the quantiser steps are 2^(-j/4) down to 2^-max_bits.
    """
    eps = np.atleast_1d(positive("eps", eps))
    samples = int(whole_at_least("samples", samples, 1))
    rng = np.random.default_rng(seed)
    paths = source.sample_path(source.context, rng, paths=samples)
    state = source.filter_state(paths)
    full = source._token_law(state)
    windows = 2.0 ** np.arange(int(np.log2(source.context)) + 1)
    Delta = np.array([np.mean(kl(full, source._filter(paths[:, source.context - int(w):]))) for w in windows])
    reached = Delta[None, :] <= eps[:, None]
    window = np.where(reached.any(axis=1), windows[np.argmax(reached, axis=1)], np.nan)
    steps = 2.0 ** -(np.arange(1, 4 * max_bits + 1) / 4)
    excess = np.array([np.mean(kl(full, source._token_law(quantise_state(state, s)))) for s in steps])
    ok = excess[None, :] <= eps[:, None]
    if not ok.any(axis=1).all():
        raise ValueError(f"eps = {eps[~ok.any(axis=1)][0]:g} needs a quantiser finer than 2^-{max_bits}")
    step = steps[np.argmax(ok, axis=1)]  # the coarsest step meeting eps
    M = state[0].size
    return SequentialHMM(eps, window, window * np.log(source.B.shape[1]), step, (M - 1) * np.log(1 / step),
                         windows, Delta, samples)
