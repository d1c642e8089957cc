"""Sequential Wyner-Ziv on the Gaussian sources: suffix-only memory against the optimal rate.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import positive, whole_at_least
from wzbounds.sources.gaussian import PACFGaussian


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
