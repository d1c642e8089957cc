"""Blahut-Arimoto for the rate-distortion function of a discrete source, with error bounds.

For a source p(x) and a distortion matrix d(x, xhat), R(D) = min I(X; Xhat)
over test channels with E d <= D. At slope s < 0 (the Lagrange multiplier;
beta = -s >= 0) the iteration

    Q(xhat | x) = q(xhat) e^{s d(x,xhat)} / Z(x),   Z(x) = sum_xhat q(xhat) e^{s d(x,xhat)}
    q(xhat)     = sum_x p(x) Q(xhat | x)

converges to the point of the curve where its slope is s. Every iterate gives
an achievable point (D, I) (so R(D) <= I) and Blahut's lower bound

    R(D) >= s D - sum_x p(x) log Z(x) - max_xhat log c(xhat),
    c(xhat) = sum_x p(x) e^{s d(x,xhat)} / Z(x),

which meet at convergence: `gap = upper - lower` is the certified error in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from wzbounds._checks import as_float_array, distribution


@dataclass(frozen=True)
class RDPoint:
    """One point of R(D) at slope s: distortion D, the rate bounds (nats) and the channel."""

    slope: float
    distortion: float
    rate_upper: float
    rate_lower: float
    iterations: int
    channel: NDArray[np.float64]

    @property
    def rate(self) -> float:
        return self.rate_upper

    @property
    def gap(self) -> float:
        return self.rate_upper - self.rate_lower


def check_distortion(d: ArrayLike, n_x: int) -> NDArray[np.float64]:
    d = as_float_array("distortion", d)
    if d.ndim != 2 or d.shape[0] != n_x:
        raise ValueError(f"distortion must be a matrix with {n_x} rows (one per source symbol); got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distortion entries must be finite and >= 0")
    return d


def blahut_arimoto(px: ArrayLike, d: ArrayLike, slope: float, *, tol: float = 1e-10, max_iter: int = 100_000) -> RDPoint:
    """The R(D) point at slope `slope` < 0, iterated until upper - lower <= tol (nats)."""
    p = distribution("px", px)
    d = check_distortion(d, p.size)
    s = float(slope)
    if not np.isfinite(s) or s >= 0:
        raise ValueError(f"slope must be finite and < 0 (beta = -slope > 0); got {slope!r}")
    A = s * d  # log of e^{s d}
    logq = np.full(d.shape[1], -np.log(d.shape[1]))
    support = p > 0
    for it in range(1, max_iter + 1):
        logZ = logsumexp(A + logq, axis=1)
        logQ = A + logq - logZ[:, None]
        logc = logsumexp(np.log(p[support])[:, None] + A[support] - logZ[support, None], axis=0)
        Q = np.exp(logQ)
        D = float(np.sum(p[:, None] * Q * d))
        lower = s * D - float(p[support] @ logZ[support]) - float(np.max(logc))
        upper = _mutual_information(p, Q)
        if upper - lower <= tol:
            break
        logq = logq + logc  # q_new(xhat) = q(xhat) c(xhat)
        logq -= logsumexp(logq)
    return RDPoint(s, D, upper, max(lower, 0.0), it, Q)


def _mutual_information(p: NDArray, Q: NDArray) -> float:
    """I(X; Xhat) in nats for input p and channel Q."""
    q = p @ Q
    rows = p > 0  # symbols of probability 0 carry no information (and may map where q = 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(Q[rows] > 0, Q[rows] * (np.log(Q[rows]) - np.log(q)[None, :]), 0.0)
    return float(max(p[rows] @ terms.sum(axis=1), 0.0))


def rd_curve(px: ArrayLike, d: ArrayLike, slopes: ArrayLike, **kwargs) -> list[RDPoint]:
    """R(D) traced over a grid of slopes (each < 0)."""
    return [blahut_arimoto(px, d, float(s), **kwargs) for s in np.atleast_1d(as_float_array("slopes", slopes))]


def hamming(n: int) -> NDArray[np.float64]:
    """The Hamming distortion 1{x != xhat} on n symbols."""
    return 1.0 - np.eye(n)
