"""Distortion measures between next-token laws: TV, KL and the smoothed KL.

All functions take probability vectors along the last axis, broadcast over
the leading axes, and compute in float64. KL values are in nats.

    TV(p, q)      = 1/2 sum_x |p(x) - q(x)|
    KL(p || q)    = sum_x p(x) log(p(x) / q(x))          (inf if q = 0 < p)
    KL_mu(p, q)   = KL(p^mu || q^mu),  p^mu = (1 - mu) p + mu u_V

Smoothing both sides with the uniform law u_V keeps KL_mu finite and makes
it vanish as q -> p; it is a Markov kernel, so KL_mu <= KL (data processing).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import distribution, in_open_unit, same_support, whole_at_least


def _pair(p: ArrayLike, q: ArrayLike) -> tuple[NDArray, NDArray]:
    return same_support("p", distribution("p", p), "q", distribution("q", q))


def tv(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """Total variation 1/2 ||p - q||_1 over the last axis, in [0, 1]."""
    p, q = _pair(p, q)
    return 0.5 * np.abs(p - q).sum(axis=-1)


# g(u) = (1 + u) log(1 + u) - u = sum_{k>=2} (-1)^k u^k / (k (k-1)), Horner coefficients of g(u) / u^2
_SERIES = np.array([(-1.0) ** k / (k * (k - 1)) for k in range(2, 22)])[::-1]
_SERIES_BELOW = 0.1  # |u| below which the series is used: 20 terms leave < 1e-20 relative


def _kl_terms(a: NDArray, b: NDArray, diff: NDArray) -> NDArray[np.float64]:
    """Per-symbol a log(a/b) - a + b >= 0 (nats), given diff = a - b computed without cancellation.

    Written as b g(u) with u = diff / b and g(u) = (1+u) log(1+u) - u, summed as a
    series for |u| < 0.1: the relative accuracy survives a -> b, where the plain
    form loses every digit (a symbol with |a - b| ~ 1e-9 b contributes ~ 1e-18 b).
    Terms with a = 0 are b; with b = 0 < a they are +inf.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u = diff / b
        small = np.abs(u) < _SERIES_BELOW
        us = np.where(small, u, 0.0)
        series = np.zeros_like(us)
        for coef in _SERIES:
            series = series * us + coef
        mid = b * ((1.0 + u) * np.log1p(u) - u)
        large = a * (np.log(a) - np.log(b)) - a + b
        out = np.where(small, b * us * us * series, np.where(u <= 1.0, mid, large))
    out = np.where(a == 0, b, out)
    out = np.where((b == 0) & (a > 0), np.inf, out)
    return np.maximum(out, 0.0)


def kl(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """KL(p || q) = sum p log(p/q) in nats; +inf where q(x) = 0 < p(x).

    Summed as sum [p log(p/q) - p + q], whose terms are each >= 0, with each term
    accurate to relative rounding even as q -> p (`_kl_terms`).
    """
    p, q = _pair(p, q)
    return _kl_terms(p, q, p - q).sum(axis=-1)


def smooth(p: ArrayLike, mu: float) -> NDArray[np.float64]:
    """The mixture p^mu = (1 - mu) p + mu u_V with the uniform law on V symbols."""
    mu = float(in_open_unit("mu", mu))
    p = distribution("p", p)
    return (1.0 - mu) * p + mu / p.shape[-1]


def smoothed_kl(p: ArrayLike, q: ArrayLike, mu: float) -> NDArray[np.float64]:
    """KL_mu(p, q) = KL(p^mu || q^mu) in nats, both sides smoothed by mu in (0, 1).

    Finite: KL_mu <= log(V / mu), since every q^mu(x) >= mu / V; and the
    sandwich 2 (1-mu)^2 TV^2 <= KL_mu <= reverse_pinsker_constant(V, mu) TV^2.
    """
    mu = float(in_open_unit("mu", mu))
    p, q = _pair(p, q)
    V = p.shape[-1]
    a, b = (1.0 - mu) * p + mu / V, (1.0 - mu) * q + mu / V
    return _kl_terms(a, b, (1.0 - mu) * (p - q)).sum(axis=-1)


def pinsker_constant(mu: ArrayLike) -> NDArray[np.float64]:
    """Lower sandwich constant 2 (1 - mu)^2: KL_mu >= 2 (1-mu)^2 TV^2 (Pinsker)."""
    mu = in_open_unit("mu", mu)
    return 2.0 * (1.0 - mu) ** 2


def reverse_pinsker_constant(V: ArrayLike, mu: ArrayLike) -> NDArray[np.float64]:
    """Upper sandwich constant K(V, mu) with KL_mu <= K TV^2 for every p, q.

        K = V (1 - mu)^2 / mu                  for V >= 3
        K = 2 (1 - mu)^2 / (mu (2 - mu))       for V = 2

    Sharp only as TV -> 0 (docs/theory.md, result 1); far from TV = 0 it is
    very loose.
    """
    V = whole_at_least("V", V, 2)
    mu = in_open_unit("mu", mu)
    V, mu = np.broadcast_arrays(V, mu)
    general = V * (1.0 - mu) ** 2 / mu
    binary = 2.0 * (1.0 - mu) ** 2 / (mu * (2.0 - mu))
    return np.where(V == 2, binary, general)
