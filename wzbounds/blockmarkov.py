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

(the second term is alpha (1 - 2^(-alpha-1)) / (12 b^2)). The series is
asymptotic in b only while alpha is small against b, so `normalised_average`
sums the first terms directly and applies Euler-Maclaurin only from
n0 = ceil(2 alpha) + 64 on: exact to rounding for every alpha > 0, b >= 1.
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
_NEGLIGIBLE_LOG = 20.0 * np.log(10.0)
_BLOCK = 256
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


def _em_threshold(alpha: NDArray) -> NDArray:
    """n0(alpha) = ceil(2 alpha) + 64: from n0 on, Euler-Maclaurin with eight Bernoulli terms on
    sum n^-alpha has a remainder below 1e-19 relative (its k-th term carries
    B_2k/(2k)! (alpha)_(2k-1) / n0^(2k-1) <= 2 (4 pi)^-2k)."""
    return np.ceil(2.0 * alpha) + _DIRECT_BELOW


def _em_tail(alpha: NDArray, b: NDArray, n0: NDArray) -> NDArray:
    """(1/b) sum_{n=n0}^{2b-1} (n/b)^-alpha by Euler-Maclaurin (n0 >= _em_threshold(alpha), n0 <= 2b - 1).

    With y0 = n0/b and L = log(2b/n0):
        integral   y0^(1-alpha) L exprel((1-alpha) L)
        endpoints  y0^-alpha (1 - (2/y0)^-alpha) / (2b)
        Bernoulli  sum_k B_2k/(2k)! [(alpha)_(2k-1) / n0^(2k-1)] y0^-alpha (1 - (2/y0)^-(alpha+2k-1)) / b
    every factor O(1), so nothing over- or underflows before the product.
    """
    y0 = n0 / b
    L = np.log(2.0 * b / n0)
    head = y0**-alpha
    out = y0 ** (1.0 - alpha) * L * exprel((1.0 - alpha) * L)
    out += head * -np.expm1(-alpha * L) / (2.0 * b)
    ratio = np.ones_like(alpha)
    for k in range(1, _EM_TERMS + 1):
        for j in ((0,) if k == 1 else (2 * k - 3, 2 * k - 2)):
            ratio = ratio * (alpha + j) / n0
        coef = _B2K[k - 1] / factorial(2 * k)
        out += coef * ratio * head * -np.expm1(-(alpha + 2 * k - 1) * L) / b
    return out


def normalised_average(alpha: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Dbar(b) / (C b^-alpha) = (1/b) sum_{r<b} (1 + r/b)^-alpha, exactly; -> kappa(alpha).

    An O(1) quantity, so it neither under- nor overflows where b^-alpha would.
    Right to about 1e-15 relative for every alpha > 0 and b >= 1: the terms
    n = b .. n0 - 1 are summed directly, with n0 = ceil(2 alpha) + 64, and the
    rest by Euler-Maclaurin from n0, where its series converges fast at any
    alpha (from b itself, the series fails once alpha is of order b: -20% at
    alpha = 400, b = 64). Direct terms stop once they fall below 1e-20 of the
    first, when the tail can no longer matter.
    """
    alpha, b = broadcast(alpha=positive("alpha", alpha), b=whole_at_least("b", b, 1))
    shape = alpha.shape
    alpha, b = alpha.ravel(), b.ravel()
    n0 = np.maximum(b, _em_threshold(alpha))
    with np.errstate(over="ignore"):
        negligible = np.ceil(b * np.expm1(_NEGLIGIBLE_LOG / alpha)) + 1.0  # (1 + r/b)^-alpha < 1e-20 beyond
    direct = np.minimum(np.minimum(b, n0 - b), negligible)
    out = np.zeros_like(alpha)
    for start in range(0, int(direct.max(initial=0)), _BLOCK):
        r = np.arange(start, min(start + _BLOCK, int(direct.max())), dtype=np.float64)
        terms = np.exp(-alpha[:, None] * np.log1p(r[None, :] / b[:, None]))
        out += np.where(r[None, :] < direct[:, None], terms, 0.0).sum(axis=1) / b
    tail = (b + direct >= n0) & (n0 <= 2.0 * b - 1.0)
    if tail.any():
        out[tail] += _em_tail(alpha[tail], b[tail], n0[tail])
    return out.reshape(shape)


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
