"""Rates at given distortions, with certified brackets: R(D), R_WZ(D), R_X|Y(D).

The slope solvers give, at each slope s < 0, an achievable point (D_s, R_s)
and a supporting line R(D') >= L_s + s D' for every D' (L_s a certified
lower bound on the Lagrangian min I - s E d). A convex, non-increasing curve
is then bracketed at any D by

    lower(D) = max over solved s of  L_s + s D
    upper(D) = the lower convex hull of the achieved points (and (D_max, 0)) at D,

the upper bound by time-sharing, which is achievable for all three
problems. `rates_at` bisects the slope between the solved points that
bracket D (D_s <= D < D_s') until upper - lower <= tol. Near a kink of the
curve's conjugate (a straight part of the curve, as for the doubly
symmetric binary source) the supporting line converges linearly in the
slope step, so the bracket still halves with each solve. All solved points
serve every D of a grid, and each D starts from its neighbours' slopes.
`max_solves` bounds the solves per distortion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import as_float_array, distribution, positive
from wzbounds.ratedistortion.blahut import blahut_arimoto, check_distortion
from wzbounds.ratedistortion.wynerziv import _joint, conditional_rd, expected_distortion, strategy_table, wyner_ziv

#: iterations per slope solve; a solve cut off here is retried from the other side's warm start
SOLVE_ITERATIONS = 5000

#: distortions within this (relative) slack of D count as reaching it, so D = D_min works in floating point
DISTORTION_SLACK = 1e-12


@dataclass(frozen=True)
class RatesAt:
    """Certified rate brackets (nats) at each distortion of a grid.

    `rate_upper` is achievable (time-sharing of computed codes), `rate_lower`
    is a supporting line of slope `slope`; `rate` is the upper bound, and the
    true value lies within `gap` below it. Where `certified` is False (Wyner-Ziv
    points whose Frank-Wolfe certificate stayed loose), the line is the solver's
    converged Lagrangian and `gap` an estimate rather than a proof. `solves` counts slope solves for
    the whole grid; `d_min`, `d_max` are the smallest distortion and the
    distortion from which the rate is 0."""

    distortion: NDArray[np.float64]
    rate_lower: NDArray[np.float64]
    rate_upper: NDArray[np.float64]
    slope: NDArray[np.float64]
    certified: NDArray[np.bool_]
    solves: int
    d_min: float
    d_max: float

    @property
    def rate(self) -> NDArray[np.float64]:
        return self.rate_upper

    @property
    def gap(self) -> NDArray[np.float64]:
        return self.rate_upper - self.rate_lower


class _Pool:
    """Solved slopes: achieved points, supporting lines, warm starts."""

    def __init__(self, solve: Callable[[float, Any], Any], d_max: float) -> None:
        self.solve, self.d_max = solve, d_max
        self.points: list[Any] = []

    @property
    def slopes(self) -> list[float]:
        return [p.slope for p in self.points]

    def add(self, s: float) -> Any:
        """Solve at slope s, warm-started from the nearest solved slope; if that point is not
        certified, again from the nearest slope on the other side, keeping a certified point,
        else the smaller Lagrangian R - s D. (A start from the far side of a straight part of
        the curve can crawl; the near side does not.)"""
        slopes = np.asarray(self.slopes)
        order = np.argsort(np.abs(slopes - s))
        starts = [None] if not self.slopes else [self.points[order[0]]]
        other = [i for i in order if (slopes[i] < s) != (slopes[order[0]] < s)]
        if other:
            starts.append(self.points[other[0]])
        tries = [self.solve(s, starts[0])]
        if not tries[0].certified and len(starts) > 1:
            tries.append(self.solve(s, starts[1]))
        point = min(tries, key=lambda p: (not p.certified, p.rate_upper - s * p.distortion))
        self.points.append(point)
        return point

    def lower(self, D: float) -> tuple[float, float, bool]:
        """(the best supporting line at D, its slope, whether it is certified). An uncertified
        point whose Lagrangian stalled (its certificate stayed loose) offers that Lagrangian
        R - s D instead; one cut off at SOLVE_ITERATIONS offers only its certified bound."""
        if not self.points:
            return 0.0, 0.0, True
        values = [(p.lagrangian_lower if p.certified or p.iterations >= SOLVE_ITERATIONS
                   else p.rate_upper - p.slope * p.distortion) + p.slope * D
                  for p in self.points]
        k = int(np.argmax(values))
        return max(values[k], 0.0), self.points[k].slope, self.points[k].certified

    def upper(self, D: float, slack: float) -> float:
        # the achieved points, and (D_max, 0), achieved at rate 0
        Dp = np.array([self.d_max, *(p.distortion for p in self.points)])
        Rp = np.array([0.0, *(p.rate_upper for p in self.points)])
        below = Dp <= D + slack
        if not below.any():
            return np.inf
        best = float(Rp[below].min())  # the curve is non-increasing
        above, left = Dp > D, Dp <= D  # chords join a point at or left of D to one right of it:
        if above.any() and left.any():  # a point within the slack right of D is no chord's left end
            i, j = np.nonzero(left)[0], np.nonzero(above)[0]
            D1, R1 = Dp[i][:, None], Rp[i][:, None]
            D2, R2 = Dp[j][None, :], Rp[j][None, :]
            chord = R1 + (R2 - R1) * (np.minimum(D, D2) - D1) / np.maximum(D2 - D1, 1e-300)
            best = min(best, float(chord.min()))
        return best


def _next_slope(pool: _Pool, D: float, slack: float, secant: bool) -> float:
    """The next slope to solve: doubling until some solved point has distortion <= D, then
    between the bracketing slopes, alternately the secant of D(s) (fast where the curve is
    smooth: a point with D(s) close to D closes the bracket by itself) and the midpoint (which
    at least halves the bracket every other solve, even across a straight part)."""
    if not pool.slopes:
        return -1.0
    pairs = sorted((p.slope, p.distortion) for p in pool.points)
    below = [(s, d) for s, d in pairs if d <= D + slack]
    if not below:
        return 2 * pairs[0][0]
    left, d_left = below[-1]
    right, d_right = next(((s, d) for s, d in pairs if s > left and d > D + slack), (0.0, pool.d_max))
    if secant and d_right > d_left:
        guess = left + (D - d_left) * (right - left) / (d_right - d_left)
        return float(np.clip(guess, left + 0.05 * (right - left), right - 0.05 * (right - left)))
    return (left + right) / 2


def _trace(solve: Callable[[float, Any], Any], D: ArrayLike, d_min: float, d_max: float, tol: float,
           max_solves: int) -> RatesAt:
    D = np.atleast_1d(as_float_array("D", D))
    tol = float(positive("tol", tol))
    slack = DISTORTION_SLACK * max(1.0, abs(d_max))
    bad = D[~np.isfinite(D) | (D < d_min - slack)]
    if bad.size:
        raise ValueError(f"D = {float(bad[0])!r} is below the smallest achievable distortion D_min = {d_min:.12g}")
    pool = _Pool(solve, d_max)
    lower, upper, slope = np.zeros_like(D), np.zeros_like(D), np.zeros_like(D)
    certified = np.ones(D.shape, dtype=bool)
    for k in np.argsort(D):  # ascending: each D starts from the slopes its smaller neighbour found
        if D[k] >= d_max:
            continue  # rate 0, slope 0
        start = len(pool.slopes)
        while True:
            lo, s_at, sure = pool.lower(D[k])
            hi = max(pool.upper(D[k], slack), 0.0)
            if hi - lo <= tol:
                break
            if len(pool.slopes) - start >= max_solves:
                raise RuntimeError(f"no {tol:g}-bracket at D = {D[k]:g} after {max_solves} slope solves "
                                   f"(reached [{lo:.10g}, {hi:.10g}]); raise max_solves or tol")
            s = _next_slope(pool, D[k], slack, secant=(len(pool.slopes) - start) % 2 == 0)
            if s < -2.0**60:
                raise RuntimeError(f"no slope reaches D = {D[k]:g} (D_min = {d_min:g})")
            pool.add(s)
        lower[k], upper[k], slope[k], certified[k] = min(lo, hi), hi, s_at, sure
    return RatesAt(D, lower, upper, slope, certified, len(pool.slopes), d_min, d_max)


def rd_rates(px: ArrayLike, d: ArrayLike, D: ArrayLike, *, tol: float = 1e-8, max_solves: int = 100) -> RatesAt:
    """R(D) of a discrete source p(x) under the distortion matrix d, at each D, within `tol` nats."""
    p = distribution("px", px)
    d = check_distortion(d, p.size)

    def solve(s: float, warm: Any) -> Any:
        return blahut_arimoto(p, d, s, tol=tol / 4, max_iter=SOLVE_ITERATIONS,
                              initial=None if warm is None else p @ warm.channel)

    return _trace(solve, D, float(p @ d.min(axis=1)), float((p @ d).min()), tol, max_solves)


def _side_info_range(p: NDArray[np.float64], d: NDArray[np.float64]) -> tuple[float, float]:
    """D_min = E min_xhat d(X, xhat); D_max = sum_y min_xhat sum_x p(x, y) d(x, xhat) (the best map of Y)."""
    return float(p.sum(axis=1) @ d.min(axis=1)), float((p.T @ d).min(axis=1).sum())


def wyner_ziv_rates(pxy: ArrayLike, d: ArrayLike, D: ArrayLike, *, tol: float = 1e-8,
                    max_solves: int = 100, strategy_set: ArrayLike | None = None) -> RatesAt:
    """R_WZ(D) (side information Y at the decoder only) at each D, within `tol` nats.

    With `strategy_set` (see `wyner_ziv`), the rates of codes restricted to those maps: the
    upper bounds stay upper bounds on R_WZ, the bracket is the restricted problem's, and
    D_min, D_max are those the maps reach."""
    p = _joint(pxy)
    d = check_distortion(d, p.shape[0])
    if strategy_set is None:
        d_range = _side_info_range(p, d)
    else:
        px = p.sum(axis=1)
        strategy_set = strategy_table(p.shape[1], d.shape[1], strategy_set)
        expected_d = expected_distortion(p / np.where(px > 0, px, 1)[:, None], d, strategy_set)
        d_range = float(px @ expected_d.min(axis=1)), float((px @ expected_d).min())

    def solve(s: float, warm: Any) -> Any:
        return wyner_ziv(p, d, s, tol=tol / 4, max_iter=SOLVE_ITERATIONS,
                         initial=None if warm is None else warm.channel, strategy_set=strategy_set)

    return _trace(solve, D, *d_range, tol, max_solves)


def conditional_rates(pxy: ArrayLike, d: ArrayLike, D: ArrayLike, *, tol: float = 1e-8,
                      max_solves: int = 100) -> RatesAt:
    """R_X|Y(D) (side information Y at both ends) at each D, within `tol` nats."""
    p = _joint(pxy)
    d = check_distortion(d, p.shape[0])
    px_y = p / np.maximum(p.sum(axis=0), 1e-300)

    def solve(s: float, warm: Any) -> Any:
        initial = None if warm is None else np.einsum("xy,yxz->yz", px_y, warm.channel)  # q(xhat | y)
        return conditional_rd(p, d, s, tol=tol / 4, max_iter=SOLVE_ITERATIONS, initial=initial)

    return _trace(solve, D, *_side_info_range(p, d), tol, max_solves)
