"""Wyner-Ziv: rate-distortion with side information Y at the decoder only, and with it at both.

    R_WZ(D)    = min I(X; U | Y)  over p(u|x) and f: U x Y -> Xhat,  E d(X, f(U, Y)) <= D
    R_X|Y(D)   = min I(X; Xhat | Y) over p(xhat|x, y),  E d <= D       (conditional: Y at both ends)

R_WZ >= R_X|Y, with equality for jointly Gaussian sources under squared error,
and strict inequality for the doubly symmetric binary source under Hamming
distortion (a common mistake is to equate them).

Following Dupuis, Yu and Willems (ISIT 2004), U is replaced by a *strategy*
T: Y -> Xhat (one of |Xhat|^|Y| maps), the decoder outputs T(Y), and for a
slope s < 0 the Lagrangian I(X; T | Y) - s E d(X, T(Y)) is minimised by
alternating between

    r(t | y) = sum_x p(x | y) p(t | x)                       (the decoder's view)
    p(t | x) ∝ exp( sum_y p(y | x) [ log r(t | y) + s d(x, t(y)) ] ),

both steps of a jointly convex problem (Csiszar-Tusnady), so the iteration
reaches the lower convex envelope point at slope s. Rates are in nats.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import as_float_array, at_least, broadcast, correlation, distribution, positive
from wzbounds.ratedistortion._lse import log_matmul_exp, logsumexp
from wzbounds.ratedistortion._squarem import squarem
from wzbounds.ratedistortion.blahut import RDPoint, blahut_arimoto, check_distortion


@dataclass(frozen=True)
class WZPoint(RDPoint):
    """One point at slope s: distortion D, the rate bounds (nats), the channel p(t|x) and strategies t(y).

    `rate_upper` is I(X; T | Y) of the final channel (achievable, so R_WZ(D) <= it);
    `rate_lower` is certified by the Frank-Wolfe gap of the convex Lagrangian, and
    `lagrangian_lower` <= min_P I(X; T | Y) - s E d, so R_WZ(D') >= lagrangian_lower + s D'
    for every D' (the supporting line used by `wyner_ziv_rates`). The certificate is valid at
    every iterate but can stay loose at boundary optima (strategies used by some x and not
    others); `certified` says whether it closed to `tol`. Where it did not, the iteration ran
    until the Lagrangian stalled, and `rate_upper` is the (achievable) answer without a proof
    of its accuracy."""

    strategies: NDArray[np.int64]


def _joint(pxy: ArrayLike) -> NDArray[np.float64]:
    p = as_float_array("pxy", pxy)
    if p.ndim != 2:
        raise ValueError(f"pxy must be a joint law matrix p(x, y); got shape {p.shape}")
    return distribution("pxy", p.ravel()).reshape(p.shape)


#: convergence checks (3 map evaluations each) over which a stalled Lagrangian ends the iteration
STALL = 30

#: log p(t | x) below which a strategy unused by every x is pruned when certifying
DEAD = np.log(1e-13)


def warm_start(law: NDArray[np.float64], floor: float = 1e-6) -> NDArray[np.float64]:
    """Rows of `law` mixed with the uniform law at weight `floor`: a warm start from a nearby
    slope, with every symbol alive so that the multiplicative updates can revive it."""
    law = law / law.sum(axis=-1, keepdims=True)
    return (1 - floor) * law + floor / law.shape[-1]


def strategies(n_y: int, n_xhat: int) -> NDArray[np.int64]:
    """All maps t: Y -> Xhat as rows (t(0), ..., t(n_y - 1)); there are n_xhat ** n_y of them."""
    return np.array(list(itertools.product(range(n_xhat), repeat=n_y)), dtype=np.int64)


def strategy_table(ny: int, n_xhat: int, strategy_set: ArrayLike | None) -> NDArray[np.int64]:
    """The strategies to optimise over: all n_xhat ** ny maps, or the rows of `strategy_set`
    (each row t(0), ..., t(ny - 1), entries indices into Xhat), checked."""
    if strategy_set is None:
        if n_xhat**ny > 200_000:
            raise ValueError(f"{n_xhat}^{ny} strategies is too many for the strategy method; "
                             "pass a strategy_set (an upper bound on R_WZ)")
        return strategies(ny, n_xhat)
    T = np.asarray(strategy_set)
    if T.ndim != 2 or T.shape[1] != ny or T.shape[0] == 0:
        raise ValueError(f"strategy_set must be a non-empty matrix of maps t: Y -> Xhat with {ny} columns; "
                         f"got shape {T.shape}")
    if not np.issubdtype(T.dtype, np.integer) or T.min() < 0 or T.max() >= n_xhat:
        raise ValueError(f"strategy_set entries must be integer indices into Xhat, 0..{n_xhat - 1}")
    return np.unique(T.astype(np.int64), axis=0)


def expected_distortion(py_x: NDArray[np.float64], d: NDArray[np.float64], T: NDArray[np.int64]) -> NDArray[np.float64]:
    """E[d(x, t(Y)) | X = x] for every x and strategy t, one side-information symbol at a time
    (memory |X| |T|, not |X| |T| |Y|)."""
    out = np.zeros((d.shape[0], T.shape[0]))
    for y in range(T.shape[1]):
        out += py_x[:, y:y + 1] * d[:, T[:, y]]
    return out


def wyner_ziv(pxy: ArrayLike, d: ArrayLike, slope: float, *, tol: float = 1e-10, max_iter: int = 100_000,
              initial: ArrayLike | None = None, strategy_set: ArrayLike | None = None) -> WZPoint:
    """The R_WZ point at slope `slope` < 0 by the strategy alternating minimisation.

    Stops when the certified gap is <= `tol` nats, or when the Lagrangian stalls (see WZPoint). The Lagrangian
    F(P) = I(X; T | Y) - s E d(X, T(Y)) is convex in P = p(t | x) (mutual
    information is convex in the channel for each p(x | y)), so with
    g = dF/dP the Frank-Wolfe bound min F >= F(P) + sum_x min_t g(x, t) - <g, P>
    holds at every iterate. `initial` warm-starts from a channel p(t | x)
    (e.g. the `channel` of a point at a nearby slope). `strategy_set` restricts
    the strategies to the given maps (rows t(0), ..., t(|Y| - 1)), for side-information
    alphabets too large to enumerate: the rate is then still achievable, an upper bound
    on R_WZ, and the certificate bounds the restricted problem only.
    """
    p = _joint(pxy)
    nx, ny = p.shape
    d = check_distortion(d, nx)
    if not np.isfinite(slope) or slope >= 0:
        raise ValueError(f"slope must be finite and < 0; got {slope!r}")
    T = strategy_table(ny, d.shape[1], strategy_set)
    px, py = p.sum(axis=1), p.sum(axis=0)
    py_x = p / np.where(px > 0, px, 1)[:, None]  # p(y | x); rows of p(x) = 0 stay 0
    px_y = np.where(py > 0, p / np.where(py > 0, py, 1), 1 / nx)  # p(x | y); any law where p(y) = 0
    with np.errstate(divide="ignore"):
        log_px_y = np.log(px_y)
    expected_d = expected_distortion(py_x, d, T)
    if initial is None:
        logpt_x = np.full((nx, T.shape[0]), -np.log(T.shape[0]))
    else:
        initial = as_float_array("initial", initial)
        if initial.shape != (nx, T.shape[0]):
            raise ValueError(f"initial must be a channel p(t|x) of shape {(nx, T.shape[0])}; got {initial.shape}")
        logpt_x = np.log(warm_start(initial))

    def step(logpt_x: NDArray) -> NDArray:
        logpt_x = logpt_x - logsumexp(logpt_x, axis=1, keepdims=True)
        logr = log_matmul_exp(log_px_y.T, logpt_x)  # log r(t | y), no clipping
        pull = py_x @ logr + slope * expected_d
        return pull - logsumexp(pull, axis=1, keepdims=True)

    def evaluate(logpt_x: NDArray, prune: bool) -> tuple[float, float, float, NDArray]:
        """(D, I(X; T | Y), a certified lower bound on min F, the channel) at exp(logpt_x).

        With `prune`, strategies below DEAD for every x are set to 0 first. At a channel whose
        used strategies are positive for every x, the Frank-Wolfe bound is finite: a used
        strategy has the gradient g = log p(t|x) - sum_y p(y|x) log r(t|y) - s E d, an unused
        one the directional slope -s E d(x, t) plus a term sum_y p(y) m_y KL(.) >= 0 that is
        dropped. Without pruning, a strategy dying at some x drives its g to -inf and the bound
        with it; with pruning, dying strategies are gone, so the bound closes at boundary optima.
        """
        logpt_x = logpt_x - logsumexp(logpt_x, axis=1, keepdims=True)
        used = np.ones(logpt_x.shape[1], dtype=bool)
        if prune:
            used = np.any(logpt_x[px > 0] >= DEAD, axis=0)
            logpt_x = logpt_x[:, used] - logsumexp(logpt_x[:, used], axis=1, keepdims=True)
        pt_x = np.exp(logpt_x)
        logr = log_matmul_exp(log_px_y.T, logpt_x)
        D = float(px @ (pt_x * expected_d[:, used]).sum(axis=1))
        R = float(max(px @ (pt_x * logpt_x).sum(axis=1) - py @ (np.exp(logr) * logr).sum(axis=1), 0.0))
        grad = -slope * expected_d  # unused strategies
        grad[:, used] = logpt_x - py_x @ logr - slope * expected_d[:, used]
        fw = float(px @ (grad.min(axis=1) - (pt_x * grad[:, used]).sum(axis=1)))  # <= 0
        channel = np.zeros_like(expected_d)
        channel[:, used] = pt_x
        return D, R, R - slope * D + fw, channel

    def certified(logpt_x: NDArray) -> tuple[float, float, float, NDArray]:
        """The better certificate of the iterate and its pruned version (smaller gap)."""
        return min((evaluate(logpt_x, prune) for prune in (False, True)), key=lambda e: e[1] - e[2] - slope * e[0])

    def objective(logpt_x: NDArray) -> float:
        D, R, _, _ = evaluate(logpt_x, False)
        return R - slope * D

    history: list[float] = []

    def converged(logpt_x: NDArray) -> bool:
        """The certificate closed, or (where it stays loose, at some boundary optima) the
        Lagrangian stalled: it fell by less than tol / 1000 over the last STALL checks."""
        D, R, lower, _ = certified(logpt_x)
        history.append(R - slope * D)
        stalled = len(history) > STALL and history[-STALL - 1] - history[-1] <= tol / 1000
        return R - lower - slope * D <= tol or stalled

    logpt_x, iterations = squarem(step, objective, logpt_x, converged, max_iter)
    D, R, lower, channel = certified(logpt_x)
    return WZPoint(float(slope), D, R, min(max(lower + slope * D, 0.0), R), lower, R - slope * D <= lower + tol,
                   iterations, channel, T)


def conditional_rd(pxy: ArrayLike, d: ArrayLike, slope: float, *, initial: ArrayLike | None = None,
                   **kwargs) -> RDPoint:
    """The R_X|Y point at slope s: Blahut-Arimoto for each p(x | y) at the same slope, averaged
    over p(y) (rates, distortions and Lagrangian bounds all average). The channel has shape
    (y, x, xhat); `initial` is one output law q(xhat | y) per row."""
    p = _joint(pxy)
    py = p.sum(axis=0)
    d = check_distortion(d, p.shape[0])
    if initial is not None:
        initial = as_float_array("initial", initial)
        if initial.shape != (p.shape[1], d.shape[1]):
            raise ValueError(f"initial must hold one output law per y, shape {(p.shape[1], d.shape[1])}")
    points = {y: blahut_arimoto(p[:, y] / py[y], d, slope, initial=None if initial is None else initial[y], **kwargs)
              for y in np.nonzero(py > 0)[0]}
    channel = np.zeros((p.shape[1], *d.shape))
    for y, point in points.items():
        channel[y] = point.channel
    mean = lambda field: float(sum(py[y] * getattr(pt, field) for y, pt in points.items()))  # noqa: E731
    D, lagrangian = mean("distortion"), mean("lagrangian_lower")
    return RDPoint(float(slope), D, mean("rate_upper"), min(max(lagrangian + slope * D, 0.0), mean("rate_upper")),
                   lagrangian,
                   all(pt.certified for pt in points.values()), max(pt.iterations for pt in points.values()), channel)


def dsbs(p: float) -> NDArray[np.float64]:
    """Doubly symmetric binary source: X ~ Bern(1/2), Y = X xor Z, Z ~ Bern(p)."""
    if not 0 < p < 0.5:
        raise ValueError(f"p must be in (0, 0.5); got {p!r}")
    return np.array([[(1 - p) / 2, p / 2], [p / 2, (1 - p) / 2]])


def binary_entropy(x: ArrayLike) -> NDArray[np.float64]:
    """h(x) = -x log x - (1-x) log(1-x) in nats, x in [0, 1]."""
    x = as_float_array("x", x)
    bad = (x < 0) | (x > 1)
    if bad.any():
        raise ValueError(f"x must be a probability in [0, 1]; got {float(x[bad].flat[0])!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x > 0) & (x < 1), -x * np.log(x) - (1 - x) * np.log1p(-x), 0.0)


def dsbs_wyner_ziv(p: float, D: ArrayLike) -> NDArray[np.float64]:
    """Closed form (Wyner-Ziv 1976): the lower convex envelope of g(D) = h(p * D) - h(D) on
    [0, p) and the point (p, 0), p * D = p(1 - D) + D(1 - p). Nats; p in (0, 1/2), D >= 0
    (an expected Hamming distortion; R = 0 from D = p on). The tangency point of the envelope
    is the root of one equation, solved to machine precision (`dsbs_tangency`); the rest is
    closed form."""
    if not 0 < p < 0.5:
        raise ValueError(f"p must be in (0, 0.5); got {p!r}")
    D = at_least("D", D, 0.0)
    dc, g_dc = dsbs_tangency(p)
    g = lambda t: binary_entropy(p * (1 - t) + t * (1 - p)) - binary_entropy(t)  # noqa: E731
    return np.where(D >= p, 0.0, np.where(D <= dc, g(np.minimum(D, dc)), g_dc * (p - D) / (p - dc)))


def dsbs_tangency(p: float) -> tuple[float, float]:
    """The tangency point Dc of the doubly symmetric binary source's Wyner-Ziv envelope and g(Dc).

    The envelope follows g(t) = h(p * t) - h(t) up to Dc, then the line through (p, 0) of the
    steepest slope that stays below g: Dc minimises g(t) / (p - t), i.e. solves
        f(t) = g'(t) (p - t) + g(t) = 0,   g'(t) = (1 - 2p) ln((1 - q) / q) - ln((1 - t) / t),
    q = p * t. A grid brackets the sign change of f, and Brent's method solves it to machine
    precision (checked against mpmath at 50 digits in the tests)."""
    from scipy.optimize import brentq

    def g(t):
        return binary_entropy(p * (1 - t) + t * (1 - p)) - binary_entropy(t)

    def f(t):
        q = p * (1 - t) + t * (1 - p)
        return ((1 - 2 * p) * np.log((1 - q) / q) - np.log((1 - t) / t)) * (p - t) + g(t)

    grid = np.linspace(0.0, p, 2001)[1:-1]
    k = int(np.argmin(g(grid) / (p - grid)))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    if f(lo) > 0:  # the minimum is below the first grid point: f < 0 near t = 0 (g'(0+) = -inf)
        lo = np.nextafter(0.0, 1.0)
    dc = float(brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200))
    return dc, float(g(dc))


def gaussian_wyner_ziv(variance: ArrayLike, rho: ArrayLike, D: ArrayLike) -> NDArray[np.float64]:
    """R_WZ(D) = R_X|Y(D) = max(0, 1/2 log(sigma^2 (1 - rho^2) / D)) nats, jointly Gaussian, squared error.

    variance = sigma^2 > 0 (of X), rho in (-1, 1) the correlation of X and Y, D > 0; each a
    number or an array, broadcast together. Bad input is a ValueError naming the argument.
    """
    variance, rho, D = broadcast(variance=positive("variance", variance), rho=correlation("rho", rho),
                                 D=positive("D", D))
    return np.maximum(0.0, 0.5 * np.log(variance * (1 - rho**2) / D))[()]
