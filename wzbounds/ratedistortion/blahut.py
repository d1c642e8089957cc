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
The iteration is accelerated by SQUAREM (see `_squarem`), which keeps it
monotone and leaves the bounds as they are: they hold at every iterate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import as_float_array, distribution
from wzbounds.ratedistortion._lse import logsumexp
from wzbounds.ratedistortion._squarem import squarem

#: Blahut-Arimoto evaluations between attempts at a Newton polish on the surviving support
POLISH_EVERY = 30

#: log q below which an output symbol is dropped, the value that marks it gone, and its revival mass
PRUNE, GONE, REVIVE = np.log(1e-14), -1e3, np.log(1e-8)


@dataclass(frozen=True)
class RDPoint:
    """One point of R(D) at slope s: distortion D, the rate bounds (nats) and the channel.

    `lagrangian_lower` <= min I - s E d at this slope, so R(D') >= lagrangian_lower + s D' for
    every D' (the supporting line used by `rd_rates`); `certified`: the gap closed to `tol`."""

    slope: float
    distortion: float
    rate_upper: float
    rate_lower: float
    lagrangian_lower: float
    certified: bool
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


def blahut_arimoto(px: ArrayLike, d: ArrayLike, slope: float, *, tol: float = 1e-10, max_iter: int = 100_000,
                   initial: ArrayLike | None = None) -> RDPoint:
    """The R(D) point at slope `slope` < 0, iterated until upper - lower <= tol (nats).

    `initial` warm-starts from an output law q(xhat) (e.g. `px @ point.channel` of a point at a
    nearby slope); the default is uniform."""
    p = distribution("px", px)
    d = check_distortion(d, p.size)
    s = float(slope)
    if not np.isfinite(s) or s >= 0:
        raise ValueError(f"slope must be finite and < 0 (beta = -slope > 0); got {slope!r}")
    A = s * d  # log of e^{s d}
    if initial is None:
        logq = np.full(d.shape[1], -np.log(d.shape[1]))
    else:
        q0 = as_float_array("initial", initial)
        if q0.shape != (d.shape[1],) or np.any(q0 < 0) or not q0.sum() > 0:
            raise ValueError(f"initial must be an output law q(xhat) of {d.shape[1]} non-negative entries")
        logq = np.log((1 - 1e-6) * q0 / q0.sum() + 1e-6 / q0.size)  # every symbol alive (see warm_start)
    logp = np.log(p[p > 0])[:, None]
    A_on = A[p > 0]

    def tilt(logq: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """(log q, log Z(x) on the support, log c(xhat)) for a possibly unnormalised log q."""
        logq = logq - logsumexp(logq)
        logZ = logsumexp(A_on + logq, axis=1)
        return logq, logZ, logsumexp(logp + A_on - logZ[:, None], axis=0)

    def step(logq: NDArray) -> NDArray:
        """q_new(xhat) = q(xhat) c(xhat), with symbols below PRUNE dropped (q = 0) and dropped
        symbols with c > 1 revived: a dying symbol otherwise decays only geometrically, and its
        slow tail keeps the bounds apart. The bounds stay valid whatever q is."""
        logq, _, logc = tilt(logq)
        new = logq + logc - logsumexp(logq + logc)
        new = np.where((logq <= GONE) & (logc > 1e-9), REVIVE, new)
        return np.where(new < PRUNE, GONE, new)

    def bounds(logq: NDArray) -> tuple[float, float, float, NDArray]:
        logq, logZ, logc = tilt(logq)
        logQ = A + logq - logsumexp(A + logq, axis=1, keepdims=True)
        Q = np.exp(logQ)
        D = float(np.sum(p[:, None] * Q * d))
        lower = s * D - float(p[p > 0] @ logZ) - float(np.max(logc))
        return D, _mutual_information(p, Q), lower, Q

    def gap(logq: NDArray) -> float:
        _, upper, lower, _ = bounds(logq)
        return upper - lower

    def converged(logq: NDArray) -> bool:
        return gap(logq) <= tol

    objective = lambda lq: -float(p[p > 0] @ tilt(lq)[1])  # noqa: E731
    iterations = 0
    while iterations < max_iter:
        logq, used = squarem(step, objective, logq, converged, min(POLISH_EVERY, max_iter - iterations))
        iterations += used
        if used < POLISH_EVERY and converged(logq):
            break
        # candidate supports: the symbols with mass, and among them those whose c is near 1 (the
        # KKT conditions: c < 1 off the support at the optimum, so those are dying)
        normalised, _, logc = tilt(logq)
        q = np.exp(normalised)
        alive = q > 1e-12 * q.max()
        candidates = [_newton_polish(A_on, p[p > 0], q, alive & (logc > -tau))
                      for tau in (np.inf, 1e-1, 1e-2, 1e-3)]
        best = min((c for c in candidates if c is not None), key=gap, default=None)
        if best is not None and gap(best) < gap(logq):
            logq = best
            if converged(logq):
                break
    D, upper, lower, Q = bounds(logq)
    return RDPoint(s, D, upper, min(max(lower, 0.0), upper), lower - s * D, upper - lower <= tol, iterations, Q)


def _newton_polish(A: NDArray, p: NDArray, q: NDArray, S: NDArray, steps: int = 30) -> NDArray | None:
    """Newton's method for the fixed point c(xhat) = 1 on a candidate support S.

    With E = e^{s d} = e^A (rows: source symbols of positive probability p), Z = E q and
    c = E^T (p / Z), the Jacobian on S is dc/dq = -E_S^T diag(p / Z^2) E_S. Both are unchanged
    when a row of E is scaled, so each row is scaled by its maximum on S (no underflow at
    steep slopes). Where Blahut-Arimoto
    converges sublinearly (symbols dying), Newton on the surviving support converges
    quadratically; the caller keeps the result only if its certified gap is smaller.
    Returns log q, or None if a step leaves the simplex or the system is singular."""
    if not S.any():
        return None
    q = np.where(S, q, 0.0)
    q /= q.sum()
    E = np.exp(A[:, S] - A[:, S].max(axis=1, keepdims=True))
    for _ in range(steps):
        Z = E @ q[S]
        residual = E.T @ (p / Z) - 1.0
        if np.max(np.abs(residual)) < 1e-15:
            break
        J = -(E.T * (p / Z**2)) @ E
        try:
            delta = np.linalg.solve(J, -residual)
        except np.linalg.LinAlgError:
            return None
        scale = 1.0
        while np.any(q[S] + scale * delta <= 0) and scale > 1e-6:
            scale /= 2
        if np.any(q[S] + scale * delta <= 0):
            return None
        q[S] += scale * delta
        q /= q.sum()
    with np.errstate(divide="ignore"):
        return np.where(q > 0, np.log(q), GONE)


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
