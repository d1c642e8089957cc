"""The explicit block-Markov scheme: evict a whole block of b tokens every b steps.

At time t the cache holds the last W_t = b + (t mod b) tokens, so the window
sweeps b, b+1, ..., 2b-1 and one eviction happens per b tokens (which suits
paged KV caches). Under PTS, D(w) <= C w^-alpha, so:

    worst step     C b^-alpha
    time average   Dbar(b) = (C/b) sum_{r=0}^{b-1} (b+r)^-alpha
                           = (C/b) [zeta(alpha, b) - zeta(alpha, 2b)]      (Hurwitz)
                  -> C b^-alpha kappa(alpha),   kappa(alpha) = (2^(1-alpha) - 1)/(1 - alpha)
    memory         peak 2b - 1 tokens, mean (3b - 1)/2 tokens

The Euler-Maclaurin series gives the finite-b expansion

    Dbar(b) / (C b^-alpha) = kappa + (1 - 2^-alpha)/(2b)
                             + sum_{k>=1} B_2k/(2k)! (alpha)_(2k-1) (1 - 2^-(alpha+2k-1)) b^-2k

(the second term is alpha (1 - 2^(-alpha-1)) / (12 b^2)), and, with eight
terms, Dbar to double precision for b >= 64; smaller b are summed directly.
Everything is computed through Dbar / (C b^-alpha), an O(1) number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import bernoulli, exprel, factorial, poch

from wzbounds._checks import broadcast, positive, whole_at_least

_DIRECT_BELOW = 64
_EM_TERMS = 8
_B2K = bernoulli(2 * _EM_TERMS)[2::2]


def window_profile(b: ArrayLike, t: ArrayLike) -> NDArray[np.float64]:
    """W_t = b + (t mod b): the tokens held at time t (t >= 0), in b..2b-1."""
    b, t = broadcast(b=whole_at_least("b", b, 1), t=whole_at_least("t", t, 0))
    return b + t % b


def kappa(alpha: ArrayLike) -> NDArray[np.float64]:
    """kappa(alpha) = (2^(1-alpha) - 1)/(1 - alpha) = ln 2 * exprel((1 - alpha) ln 2).

    Written with exprel(x) = (e^x - 1)/x, it is exact at alpha = 1 (ln 2) and
    does not cancel near it.
    """
    alpha = positive("alpha", alpha)
    return np.log(2.0) * exprel((1.0 - alpha) * np.log(2.0))


def expansion_terms(alpha: ArrayLike, b: ArrayLike, order: int) -> NDArray[np.float64]:
    """Terms of Dbar(b) / (C b^-alpha) in powers of 1/b, stacked on the last axis.

    Term 0 is kappa(alpha), term 1 is (1 - 2^-alpha)/(2b), term k+1 (k >= 1)
    is B_2k/(2k)! (alpha)_(2k-1) (1 - 2^-(alpha+2k-1)) b^-2k. `order` counts the
    terms returned (1 to 10).
    """
    if not 1 <= order <= _EM_TERMS + 2:
        raise ValueError(f"order must be in 1..{_EM_TERMS + 2}; got {order}")
    alpha, b = broadcast(alpha=positive("alpha", alpha), b=positive("b", b))
    terms = [kappa(alpha), (1.0 - 2.0**-alpha) / (2.0 * b)]
    for k in range(1, order - 1):
        m = 2 * k - 1
        coef = _B2K[k - 1] / factorial(2 * k)
        terms.append(coef * poch(alpha, m) * (1.0 - 2.0 ** -(alpha + m)) * b ** (-2.0 * k))
    return np.stack(terms[:order], axis=-1)


def normalised_average(alpha: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Dbar(b) / (C b^-alpha) = (1/b) sum_{r<b} (1 + r/b)^-alpha, exactly; -> kappa(alpha).

    An O(1) quantity, so it neither under- nor overflows where b^-alpha would:
    summed directly for b < 64, by the Euler-Maclaurin series (eight Bernoulli
    terms, remainder below 1e-16 relative for alpha <= 20) for b >= 64.
    """
    alpha, b = broadcast(alpha=positive("alpha", alpha), b=whole_at_least("b", b, 1))
    out = np.empty(alpha.shape, dtype=np.float64)
    small = b < _DIRECT_BELOW
    if small.any():
        bs, a = b[small][:, None], alpha[small][:, None]
        r = np.arange(_DIRECT_BELOW - 1, dtype=np.float64)
        out[small] = np.where(r < bs, (1.0 + r / bs) ** -a, 0.0).sum(axis=-1) / bs[:, 0]
    large = ~small
    if large.any():
        out[large] = expansion_terms(alpha[large], b[large], _EM_TERMS + 2).sum(axis=-1)
    return out


def window_power_sum(alpha: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """S(b) = sum_{n=b}^{2b-1} n^-alpha = zeta(alpha, b) - zeta(alpha, 2b) = b^(1-alpha) Dbar/(C b^-alpha)."""
    alpha, b = broadcast(alpha=positive("alpha", alpha), b=whole_at_least("b", b, 1))
    return b ** (1.0 - alpha) * normalised_average(alpha, b)


def average_distortion(C: ArrayLike, alpha: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Dbar(b) = (C/b) sum_{r<b} (b+r)^-alpha, the exact time-averaged bound."""
    C, alpha, b = broadcast(C=positive("C", C), alpha=positive("alpha", alpha), b=whole_at_least("b", b, 1))
    return C * b**-alpha * normalised_average(alpha, b)


def limit_average(C: ArrayLike, alpha: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """C b^-alpha kappa(alpha): the large-b limit of Dbar(b) (which lies above it)."""
    return positive("C", C) * positive("b", b) ** -positive("alpha", alpha) * kappa(alpha)


def peak_memory(b: ArrayLike) -> NDArray[np.float64]:
    """2b - 1 tokens: the largest window of the sweep."""
    return 2 * whole_at_least("b", b, 1) - 1


def mean_memory(b: ArrayLike) -> NDArray[np.float64]:
    """(3b - 1)/2 tokens: the window averaged over one sweep b..2b-1."""
    return (3.0 * whole_at_least("b", b, 1) - 1.0) / 2.0


def block_length(eps: ArrayLike, C: ArrayLike, alpha: ArrayLike) -> NDArray[np.float64]:
    """Smallest block length b with Dbar(b) <= eps.

    Starts from the limit, b0 = ceil((C kappa / eps)^(1/alpha)); since Dbar
    decreases in b and exceeds its limit by O(1/b) relatively, a few unit
    steps up finish the search.
    """
    eps, C, alpha = broadcast(eps=positive("eps", eps), C=positive("C", C), alpha=positive("alpha", alpha))
    shape = eps.shape
    b = np.atleast_1d(np.maximum(np.ceil((C * kappa(alpha) / eps) ** (1.0 / alpha)), 1.0))
    eps, C, alpha = np.atleast_1d(eps), np.atleast_1d(C), np.atleast_1d(alpha)
    over = average_distortion(C, alpha, b) > eps
    over &= b < 2.0**53  # beyond 2^53, b + 1 == b: the limit's root is already whole-token exact
    while over.any():
        b[over] += 1
        over[over] = average_distortion(C[over], alpha[over], b[over]) > eps[over]
    return b.reshape(shape)


@dataclass(frozen=True)
class BlockMarkovComparison:
    """Block-Markov against the sliding window at equal time-averaged distortion.

    sliding_window: the real window w with C w^-alpha = Dbar(b) (tokens).
    peak_ratio = (2b - 1) / w and mean_ratio = ((3b - 1)/2) / w at this b;
    their limits as b -> infinity are 2 kappa^(1/alpha) and 1.5 kappa^(1/alpha).
    """

    alpha: NDArray[np.float64]
    b: NDArray[np.float64]
    average: NDArray[np.float64]
    sliding_window: NDArray[np.float64]
    peak_ratio: NDArray[np.float64]
    mean_ratio: NDArray[np.float64]
    peak_ratio_limit: NDArray[np.float64]
    mean_ratio_limit: NDArray[np.float64]


def compare_with_sliding(alpha: ArrayLike, b: ArrayLike, C: ArrayLike = 1.0) -> BlockMarkovComparison:
    """Memory of block-Markov over the sliding window reaching the same average distortion."""
    alpha, b, C = broadcast(alpha=positive("alpha", alpha), b=whole_at_least("b", b, 1), C=positive("C", C))
    w = b * normalised_average(alpha, b) ** (-1.0 / alpha)  # C w^-alpha = Dbar(b), without forming b^-alpha
    peak_limit, mean_limit = memory_ratio_limits(alpha)
    return BlockMarkovComparison(
        alpha=alpha,
        b=b,
        average=average_distortion(C, alpha, b),
        sliding_window=w,
        peak_ratio=peak_memory(b) / w,
        mean_ratio=mean_memory(b) / w,
        peak_ratio_limit=peak_limit,
        mean_ratio_limit=mean_limit,
    )


def memory_ratio_limits(alpha: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(2 kappa^(1/alpha), 1.5 kappa^(1/alpha)): peak and mean memory over the sliding
    window at equal average distortion, as b -> infinity. The peak ratio runs from e/2
    (alpha -> 0) to 2 (alpha -> infinity); about 1.371 at alpha = 0.44."""
    k = kappa(alpha) ** (1.0 / positive("alpha", alpha))
    return 2.0 * k, 1.5 * k
