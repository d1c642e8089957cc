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
from scipy.special import logsumexp

from wzbounds._checks import as_float_array, distribution
from wzbounds.ratedistortion.blahut import blahut_arimoto, check_distortion


@dataclass(frozen=True)
class WZPoint:
    """One point (D, R) at slope s, with the strategy channel p(t|x) and the strategies t(y)."""

    slope: float
    distortion: float
    rate: float
    iterations: int
    channel: NDArray[np.float64]
    strategies: NDArray[np.int64]


def _joint(pxy: ArrayLike) -> NDArray[np.float64]:
    p = as_float_array("pxy", pxy)
    if p.ndim != 2:
        raise ValueError(f"pxy must be a joint law matrix p(x, y); got shape {p.shape}")
    return distribution("pxy", p.ravel()).reshape(p.shape)


def strategies(n_y: int, n_xhat: int) -> NDArray[np.int64]:
    """All maps t: Y -> Xhat as rows (t(0), ..., t(n_y - 1)); there are n_xhat ** n_y of them."""
    return np.array(list(itertools.product(range(n_xhat), repeat=n_y)), dtype=np.int64)


def wyner_ziv(pxy: ArrayLike, d: ArrayLike, slope: float, *, tol: float = 1e-12, max_iter: int = 100_000) -> WZPoint:
    """The R_WZ point at slope `slope` < 0 by the strategy alternating minimisation."""
    p = _joint(pxy)
    nx, ny = p.shape
    d = check_distortion(d, nx)
    if not np.isfinite(slope) or slope >= 0:
        raise ValueError(f"slope must be finite and < 0; got {slope!r}")
    T = strategies(ny, d.shape[1])
    if T.shape[0] > 200_000:
        raise ValueError(f"{d.shape[1]}^{ny} strategies is too many for the strategy method")
    px = p.sum(axis=1)
    py_x = np.where(px[:, None] > 0, p / np.where(px > 0, px, 1)[:, None], 0.0)  # p(y | x)
    dist = d[:, T]  # (x, t, y): d(x, t(y))
    expected_d = np.einsum("xy,xty->xt", py_x, dist)
    logpt_x = np.full((nx, T.shape[0]), -np.log(T.shape[0]))
    py = p.sum(axis=0)
    px_y = np.where(py[None, :] > 0, p / np.where(py > 0, py, 1)[None, :], 0.0)  # p(x | y)
    previous = np.inf
    for it in range(1, max_iter + 1):
        r = np.einsum("xy,xt->yt", px_y, np.exp(logpt_x))  # r(t | y)
        logr = np.log(np.maximum(r, 1e-300))
        score = py_x @ logr + slope * expected_d  # (x, t)
        logpt_x = score - logsumexp(score, axis=1, keepdims=True)
        pt_x = np.exp(logpt_x)
        D = float(px @ (pt_x * expected_d).sum(axis=1))
        r = np.einsum("xy,xt->yt", px_y, pt_x)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(pt_x[:, None, :] > 0, np.log(pt_x[:, None, :]) - np.log(r[None, :, :]), 0.0)
        R = float(max(np.einsum("xy,xt,xyt->", p, pt_x, ratio), 0.0))
        value = R - slope * D
        if previous - value <= tol:
            break
        previous = value
    return WZPoint(float(slope), D, R, it, pt_x, T)


def conditional_rd(pxy: ArrayLike, d: ArrayLike, slope: float, **kwargs) -> tuple[float, float]:
    """(D, R_X|Y) at slope s: Blahut-Arimoto for each p(x | y) at the same slope, averaged over p(y)."""
    p = _joint(pxy)
    py = p.sum(axis=0)
    D = R = 0.0
    for y in np.nonzero(py > 0)[0]:
        point = blahut_arimoto(p[:, y] / py[y], d, slope, **kwargs)
        D += py[y] * point.distortion
        R += py[y] * point.rate
    return D, R


def dsbs(p: float) -> NDArray[np.float64]:
    """Doubly symmetric binary source: X ~ Bern(1/2), Y = X xor Z, Z ~ Bern(p)."""
    if not 0 < p < 0.5:
        raise ValueError(f"p must be in (0, 0.5); got {p!r}")
    return np.array([[(1 - p) / 2, p / 2], [p / 2, (1 - p) / 2]])


def binary_entropy(x: ArrayLike) -> NDArray[np.float64]:
    """h(x) in nats."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x > 0) & (x < 1), -x * np.log(x) - (1 - x) * np.log1p(-x), 0.0)


def dsbs_wyner_ziv(p: float, D: ArrayLike) -> NDArray[np.float64]:
    """Closed form (Wyner-Ziv 1976): the lower convex envelope of g(D) = h(p * D) - h(D) on
    [0, p) and the point (p, 0), p * D = p(1 - D) + D(1 - p). Nats."""
    D = np.asarray(D, dtype=np.float64)
    g = lambda t: binary_entropy(p * (1 - t) + t * (1 - p)) - binary_entropy(t)  # noqa: E731
    grid = np.linspace(0.0, p, 20001)[:-1]
    gv = g(grid)
    # the envelope: g itself for D <= Dc, then the tangent from (p, 0); the steepest line through
    # (p, 0) that stays below g has slope -min_t g(t) / (p - t), touching at Dc
    k = np.argmin(gv / (p - grid))
    dc = grid[k]
    return np.where(D >= p, 0.0, np.where(D <= dc, g(np.minimum(D, dc)), gv[k] * (p - D) / (p - dc)))


def gaussian_wyner_ziv(variance: float, rho: float, D: ArrayLike) -> NDArray[np.float64]:
    """R_WZ(D) = R_X|Y(D) = max(0, 1/2 log(sigma^2 (1 - rho^2) / D)) nats, jointly Gaussian, squared error."""
    D = np.asarray(D, dtype=np.float64)
    return np.maximum(0.0, 0.5 * np.log(variance * (1 - rho**2) / D))
