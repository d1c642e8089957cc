"""A generic convex solve of R_WZ(D), for cross-checks and benchmarks (not for production use).

    R_WZ(D) = min over p(t | x) of I(X; T | Y)   subject to   E d(X, T(Y)) <= D,

over the strategies t: Y -> Xhat (Dupuis, Yu and Willems), handed to scipy's
SLSQP with the analytic gradient dI/dp(t|x) = p(x) [log p(t|x) - sum_y p(y|x) log r(t|y)].
With a single side-information symbol (pxy of one column) it is R(D).
It knows nothing of the problem's structure, which is the point: it is an
independent route to the same numbers, and the baseline the Blahut-Arimoto
type solvers are timed against (benchmarks/bench_ratedistortion.py).
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize

from wzbounds._checks import positive
from wzbounds.ratedistortion.blahut import check_distortion
from wzbounds.ratedistortion.wynerziv import _joint, expected_distortion, strategies

LINE_SEARCH_STALLED = 8  # SLSQP's exit mode "Positive directional derivative for linesearch"


def generic_wyner_ziv_rate(pxy: ArrayLike, d: ArrayLike, D: float, *, ftol: float = 1e-15,
                           max_iter: int = 2000, time_limit: float | None = None) -> float:
    """R_WZ(D) in nats by SLSQP over the strategy channel p(t | x); raises if SLSQP fails or
    runs past `time_limit` seconds."""
    p = _joint(pxy)
    nx, ny = p.shape
    d = check_distortion(d, nx)
    D = float(positive("D", D))
    T = strategies(ny, d.shape[1])
    n_t = T.shape[0]
    px, py = p.sum(axis=1), p.sum(axis=0)
    py_x = p / np.where(px > 0, px, 1)[:, None]
    px_y = p / np.where(py > 0, py, 1)[None, :]
    expected_d = expected_distortion(py_x, d, T)
    floor = 1e-300

    def rate(v: np.ndarray) -> tuple[float, np.ndarray]:
        P = np.maximum(v.reshape(nx, n_t), 0.0)
        r = px_y.T @ P
        logP, logr = np.log(np.maximum(P, floor)), np.log(np.maximum(r, floor))
        value = px @ (P * logP).sum(axis=1) - py @ (r * logr).sum(axis=1)
        grad = px[:, None] * (logP - py_x @ logr)
        return float(value), grad.ravel()

    rows = np.kron(np.eye(nx), np.ones(n_t))
    constraints = [{"type": "eq", "fun": lambda v: rows @ v - 1, "jac": lambda v: rows},
                   {"type": "ineq", "fun": lambda v: D - (px[:, None] * expected_d).ravel() @ v,
                    "jac": lambda v: -(px[:, None] * expected_d).ravel()}]
    start = np.full(nx * n_t, 1.0 / n_t)
    deadline = None if time_limit is None else time.monotonic() + float(positive("time_limit", time_limit))
    stopped = []

    def out_of_time(intermediate_result: object) -> None:
        if deadline is not None and time.monotonic() > deadline:
            stopped.append(True)
            raise StopIteration

    def solve(tolerance: float):
        return minimize(rate, start, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * start.size,
                        constraints=constraints, options={"ftol": tolerance, "maxiter": max_iter},
                        callback=out_of_time)

    result = solve(ftol)
    while result.status == LINE_SEARCH_STALLED and ftol < 1e-12 and not stopped:
        # SLSQP (scipy >= 1.16) stalls when ftol is below what float64 can resolve at the optimum:
        # the line search finds no descent. Loosen the tolerance, never beyond 1e-12.
        ftol *= 10.0
        result = solve(ftol)
    if stopped:
        raise RuntimeError(f"SLSQP gave up at the time limit of {time_limit:g} s")
    if not result.success:
        raise RuntimeError(f"SLSQP did not converge: {result.message}")
    return max(float(result.fun), 0.0)
