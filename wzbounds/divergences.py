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
from scipy.special import kl_div

from wzbounds._checks import distribution, in_open_unit, same_support, whole_at_least


def _pair(p: ArrayLike, q: ArrayLike) -> tuple[NDArray, NDArray]:
    return same_support("p", distribution("p", p), "q", distribution("q", q))


def tv(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """Total variation 1/2 ||p - q||_1 over the last axis, in [0, 1]."""
    p, q = _pair(p, q)
    return 0.5 * np.abs(p - q).sum(axis=-1)


def kl(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """KL(p || q) = sum p log(p/q) in nats; +inf where q(x) = 0 < p(x).

    Summed as sum [p log(p/q) - p + q] (scipy's kl_div), whose terms are each
    >= 0 in exact arithmetic; rounding can still leave -1e-17, clipped to 0.
    """
    p, q = _pair(p, q)
    return np.maximum(kl_div(p, q).sum(axis=-1), 0.0)


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
    return np.maximum(kl_div(smooth(p, mu), smooth(q, mu)).sum(axis=-1), 0.0)


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
