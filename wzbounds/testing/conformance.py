"""`check_bound`: a conformance suite that any window bound must pass.

In the shape of scikit-learn's `check_estimator`: small named checks, each a
function `check(bound, eps) -> Verdict` run on a random grid of targets, that
together state what a bound on suffix-only windows must satisfy:

    check_monotone     windows do not grow as the target eps grows
    check_ordered      converse window <= achievable window, on the random targets and
                       down to eps = 1e-300, and as eps -> 0 from the laws' exponents
    check_limits       the window grows without bound as eps -> 0, and is w at eps = D(w)
                       for whole windows w where the law still falls from w - 1 to w
    check_round_trip   D(window(eps)) <= eps < D(window(eps) - 1): the smallest window
    check_symbolic     each window equals the one rebuilt from the hypotheses the bound
                       states (sympy closed forms of `bound.parameters`, with the w0
                       rule), never from the bound's own laws: an independent route
                       that catches a wrong constant or exponent. A bound that states
                       no hypotheses (laws given directly) is not certified.

`check_bound` runs them all; `bound_checks` yields (name, check) pairs for
one test id per check, as scikit-learn's `parametrize_with_checks` does:

    @pytest.mark.parametrize("name, check", bound_checks(my_bound))
    def test_my_bound(name, check):
        assert check(), check().reason

The suite proves itself on deliberately broken bounds (tests/test_conformance.py):
each broken bound makes its check fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from numpy.typing import NDArray

from wzbounds.bounds import WindowBound
from wzbounds.verdict import Verdict, VerdictList, from_bool

RTOL = 1e-9


@dataclass(frozen=True)
class BoundReport(VerdictList):
    """Every check's verdict on a bound; `ok` when all hold."""

    bound: WindowBound
    verdicts: tuple[Verdict, ...] = field(default_factory=tuple)


def targets(bound: WindowBound, n: int = 200, seed: int = 0) -> NDArray[np.float64]:
    """n sorted random targets, log-uniform on [1e-8, 1] (TV) or [1e-8, 10] nats (KL_mu)."""
    top = 1.0 if bound.distortion == "tv" else 10.0
    rng = np.random.default_rng(seed)
    return np.sort(10.0 ** rng.uniform(-8, np.log10(top), n))


def check_monotone(bound: WindowBound, eps: NDArray) -> Verdict:
    """Both windows are non-increasing in eps (eps sorted increasingly)."""
    ach = bound.achievable_window(eps)
    rising = int((np.diff(ach) > 0).sum())
    if bound.converse is not None:
        rising += int((np.diff(bound.converse_window(eps)) > 0).sum())
    return from_bool("monotone", rising == 0, f"{rising} increases of a window as eps grows", increases=rising)


DEEP = 10.0 ** -np.arange(0, 301, 3)  # targets from 1 down to 1e-300, for orderings that fail only at tiny eps


def check_ordered(bound: WindowBound, eps: NDArray) -> Verdict:
    """converse_window(eps) <= achievable_window(eps): no policy beats the sliding window's guarantee
    below the converse. Checked on the targets and on eps = 1, 1e-3, ..., 1e-300 (windows beyond
    float64 compared where both are finite), and as eps -> 0 from the laws: a converse exponent
    below the achievable one, or an equal one with a larger constant, is out of order at small
    enough eps. Holds trivially without a converse."""
    if bound.converse is None:
        return from_bool("ordered", True, "no converse: nothing to order")
    grid = np.concatenate([eps, DEEP[DEEP <= eps.max()]])
    with np.errstate(over="ignore", invalid="ignore"):
        lower, upper = bound.converse_window(grid), bound.achievable_window(grid)
    finite = np.isfinite(lower) & np.isfinite(upper)
    worst = float(np.max(lower[finite] / upper[finite])) if finite.any() else 1.0
    overflow = bool((np.isinf(lower) & np.isfinite(upper)).any())
    lo, up = bound.converse, bound.achievability
    asymptotic = lo.alpha > up.alpha * (1 + 1e-12) or (np.isclose(lo.alpha, up.alpha, rtol=1e-12, atol=0.0)
                                                        and lo.C <= up.C * (1 + 1e-12))
    ok = worst <= 1 + RTOL and not overflow and asymptotic
    return from_bool("ordered", ok, f"max converse/achievable window = {worst:.6g} down to eps = {grid.min():.3g}"
                     f"{'; the converse window overflows first' if overflow else ''}"
                     f"{'' if asymptotic else '; out of order as eps -> 0 (converse law ' + f'{lo.C:g} w^-{lo.alpha:g}' + ' against ' + f'{up.C:g} w^-{up.alpha:g})'}",
                     worst=worst)


def check_limits(bound: WindowBound, eps: NDArray) -> Verdict:
    """The window grows without bound as eps -> 0 (a million-fold smaller eps gives a larger
    window, all the way down), and at eps = D(w) it is w, for whole windows w >= w0 with D(w) in
    range (<= 1 for TV) where the law, evaluated in float64, still falls from w - 1 to w (where it
    does not, w - 1 already reaches D(w) and is the right answer)."""
    law = bound.achievability
    smaller = eps[0] * 10.0 ** -np.arange(0, 60, 6)
    with np.errstate(over="ignore", invalid="ignore"):
        grow = bound.achievable_window(smaller)
        # strictly increasing once off the floor ceil(w0), until the window leaves the float64 range (inf)
        floor = np.ceil(law.w0)
        grows = bool(np.all((np.diff(grow) > 0) | (np.isinf(grow[1:]) & np.isinf(grow[:-1]))
                            | ((grow[1:] == floor) & (grow[:-1] == floor))) and grow[-1] > floor)
    top = 1.0 if bound.distortion == "tv" else np.inf
    first = np.ceil(law.w0)
    whole = first + np.unique(np.round(np.geomspace(1, 1e12, 25)) - 1)
    at = law(whole)
    falls = (law(np.maximum(whole - 1, 1.0)) > at) | (whole == first)
    usable = falls & (at <= top) & (at > 0)
    got = bound.achievable_window(at[usable]) if usable.any() else whole[usable]
    misses = int((got != whole[usable]).sum())
    ok = grows and misses == 0
    return from_bool("limits", ok, f"windows as eps falls 1e6-fold at a time: {grow[:4]}...; {misses} of "
                     f"{int(usable.sum())} windows w not returned at eps = D(w)", misses=misses)


def check_round_trip(bound: WindowBound, eps: NDArray) -> Verdict:
    """D(w) <= eps < D(w - 1) for w = achievable_window(eps) (or w is the floor w0), while one
    token still moves D by more than rounding (w < alpha 1e12)."""
    law = bound.achievability
    ach = bound.achievable_window(eps)
    exact = ach < law.alpha * 1e12
    reached = law(ach) <= eps
    shorter = ach - 1
    minimal = (shorter < np.ceil(law.w0)) | (law(np.maximum(shorter, 1.0)) > eps)
    bad_reach, bad_min = int((~reached & exact).sum()), int((~minimal & exact).sum())
    return from_bool("round_trip", bad_reach + bad_min == 0,
                     f"{bad_reach} windows miss eps, {bad_min} are not the smallest, of {int(exact.sum())} checked",
                     unreached=bad_reach, not_minimal=bad_min)


def symbolic_windows(bound: WindowBound) -> dict[str, Callable[[NDArray], NDArray]]:
    """The bound's real roots as functions of eps, from sympy expressions of the hypotheses it
    states (`bound.parameters`), never from its laws: TV from (C, alpha) and (c_B, beta); KL_mu
    from (C, alpha, V, mu[, R]) and (c_B, beta). ValueError for a bound that states none."""
    from wzbounds import symbolic as S

    p = dict(bound.parameters)
    if not {"C", "alpha"} <= set(p):
        raise ValueError("the bound states no hypotheses (its laws were given directly): there is nothing to "
                         "rebuild its windows from; build it with sliding_window_tv / sliding_window_kl, or record "
                         "the constants in `parameters`")
    if bound.distortion == "tv":
        exprs = {"achievable": S.achievable_window_tv.subs({S.C: p["C"], S.alpha: p["alpha"]})}
        if "c_B" in p:
            exprs["converse"] = S.converse_window_tv.subs({S.c_B: p["c_B"], S.beta: p["beta"]})
    else:
        values = {S.C: p["C"], S.alpha: p["alpha"], S.mu: p["mu"], S.R: p.get("R", 1.0)}
        exprs = {"achievable": S.kl_achievable_window(int(p["V"]), reg="R" in p).subs(values)}
        if "c_B" in p:
            exprs["converse"] = S.converse_window_kl.subs({S.c_B: p["c_B"], S.beta: p["beta"]})
    return {name: S.numeric(expr, S.eps) for name, expr in exprs.items()}


def check_symbolic(bound: WindowBound, eps: NDArray) -> Verdict:
    """Each window equals the one rebuilt from the stated hypotheses: achievable_window(eps) =
    max(ceil(w0), ceil(root)) (either neighbour where the root is within 1e-12 of a whole number,
    where float64 cannot decide) and converse_window(eps) = root where root >= w0, else 1 (the
    lower law excludes no window below w0), each root the sympy closed form of `bound.parameters`
    (relative 1e-12). Fails for a bound that states no hypotheses."""
    try:
        fns = symbolic_windows(bound)
    except ValueError as exc:
        return from_bool("symbolic", False, str(exc))
    w0 = float(np.ceil(bound.parameters.get("w0", 1.0)))
    ach = bound.achievable_window(eps)
    root = np.asarray(fns["achievable"](eps), dtype=np.float64)
    want = np.maximum(np.ceil(root * (1 - 1e-12)), w0)
    above = np.maximum(np.ceil(root * (1 + 1e-12)), w0)
    worst_ach = int(((ach < want) | (ach > above)).sum())
    worst_conv = 0.0
    if "converse" in fns:
        lower = np.asarray(fns["converse"](eps), dtype=np.float64)
        expected = np.where(lower >= bound.parameters.get("w0", 1.0), lower, 1.0)
        worst_conv = float(np.max(np.abs(bound.converse_window(eps) / expected - 1)))
    elif bound.converse is not None:
        worst_conv = np.inf  # a converse no stated hypothesis gives
    ok = worst_ach == 0 and worst_conv <= 1e-12
    return from_bool("symbolic", ok, f"{worst_ach} achievable windows differ from ceil of the closed form; "
                     f"max relative difference of the converse window {worst_conv:.3g}"
                     f"{' (a converse with no stated Bayes-risk law)' if np.isinf(worst_conv) else ''}",
                     achievable_mismatches=worst_ach, converse_error=worst_conv)


CHECKS: tuple[Callable[[WindowBound, NDArray], Verdict], ...] = (
    check_monotone, check_ordered, check_limits, check_round_trip, check_symbolic,
)


def bound_checks(bound: WindowBound, *, n: int = 200, seed: int = 0) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    """(name, check) pairs, each check a no-argument callable returning its Verdict: one test id per check."""
    eps = targets(bound, n, seed)
    for check in CHECKS:
        yield check.__name__, partial(check, bound, eps)


def check_bound(bound: WindowBound, *, n: int = 200, seed: int = 0, raise_on_failure: bool = True) -> BoundReport:
    """Run every check on `bound` over `n` random targets.

    Raises AssertionError naming each failed check unless `raise_on_failure`
    is False, in which case the report is returned either way.
    """
    report = BoundReport(bound, tuple(check() for _, check in bound_checks(bound, n=n, seed=seed)))
    if raise_on_failure and not report.ok:
        lines = "; ".join(f"{v.claim}: {v.reason}" for v in report.failures())
        raise AssertionError(f"bound failed conformance: {lines}")
    return report
