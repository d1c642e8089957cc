"""`check_bound`: a conformance suite that any window bound must pass.

In the shape of scikit-learn's `check_estimator`: small named checks, each a
function `check(bound, eps) -> Verdict` run on a random grid of targets, that
together state what a bound on suffix-only windows must satisfy:

    check_monotone     windows do not grow as the target eps grows
    check_ordered      converse window <= achievable window
    check_limits       the window grows without bound as eps -> 0, and is w1 at
                       eps = D(w1), w1 the law's first whole window with D <= 1 (TV)
    check_round_trip   D(window(eps)) <= eps < D(window(eps) - 1): the smallest window
    check_symbolic     each window equals the closed form of the hypotheses it was
                       derived from (sympy, from `bound.parameters`): an independent
                       route to the same number, which catches a wrong constant

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
from wzbounds.verdict import Verdict, from_bool

RTOL = 1e-9


@dataclass(frozen=True)
class BoundReport:
    """Every check's verdict on a bound; `ok` when all hold."""

    bound: WindowBound
    verdicts: tuple[Verdict, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(v.holds for v in self.verdicts)

    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.holds]

    def verdict(self, claim: str) -> Verdict:
        for v in self.verdicts:
            if v.claim == claim:
                return v
        raise KeyError(claim)


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


def check_ordered(bound: WindowBound, eps: NDArray) -> Verdict:
    """converse_window(eps) <= achievable_window(eps): no policy beats the sliding window's guarantee
    below the converse. Holds trivially without a converse."""
    if bound.converse is None:
        return from_bool("ordered", True, "no converse: nothing to order")
    worst = float(np.max(bound.converse_window(eps) / bound.achievable_window(eps)))
    return from_bool("ordered", worst <= 1 + RTOL, f"max converse/achievable window = {worst:.6g}", worst=worst)


def check_limits(bound: WindowBound, eps: NDArray) -> Verdict:
    """The window grows without bound as eps -> 0 (a million-fold smaller eps gives a larger
    window, all the way down), and at eps = D(w1) it is w1, the first whole window with D <= top."""
    law = bound.achievability
    smaller = eps[0] * 10.0 ** -np.arange(0, 60, 6)
    with np.errstate(over="ignore", invalid="ignore"):
        grow = bound.achievable_window(smaller)
        # strictly increasing until the window leaves the float64 range (inf), then inf
        grows = bool(np.all((np.diff(grow) > 0) | (np.isinf(grow[1:]) & np.isinf(grow[:-1]))))
    top = 1.0 if bound.distortion == "tv" else 10.0
    w1 = float(max(np.ceil(law.w0), np.ceil(law.real_window(top) * (1 - 1e-12))))  # from the law itself
    at_w1 = float(bound.achievable_window(min(float(law(w1)), top)))
    # exact while one token moves D by more than rounding (as in check_round_trip), else to 1e-9
    ok = grows and (at_w1 == w1 if w1 < law.alpha * 1e12 else abs(at_w1 / w1 - 1) <= RTOL)
    return from_bool("limits", ok, f"windows as eps falls 1e6-fold at a time: {grow[:4]}...; window at eps = "
                     f"D({w1:g}) is {at_w1:g}", w1=w1, window_at_w1=at_w1)


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
    """The bound's real windows as functions of eps, from sympy expressions of its hypotheses.

    With recorded hypotheses (`bound.parameters` from the constructors) the closed
    form is rebuilt from them: TV from (C, alpha) and (c_B, beta); KL_mu from
    (C, alpha, V, mu[, R]) and (c_B, beta). Without them (laws given directly) the
    generic power-law inverse (C/eps)^(1/alpha) of each law is used.
    """
    from wzbounds import symbolic as S

    p = dict(bound.parameters)
    up, lo = bound.achievability, bound.converse
    if not p:
        exprs = {"achievable": S.achievable_window_tv.subs({S.C: up.C, S.alpha: up.alpha})}
        if lo is not None:
            exprs["converse"] = S.achievable_window_tv.subs({S.C: lo.C, S.alpha: lo.alpha})
    elif bound.distortion == "tv":
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
    """achievable_window(eps) = max(w0, ceil(root)) and converse_window(eps) = root, each root
    the sympy closed form of the bound's hypotheses (relative 1e-12)."""
    fns = symbolic_windows(bound)
    ach = bound.achievable_window(eps)
    root = np.asarray(fns["achievable"](eps), dtype=np.float64)
    w0 = np.ceil(bound.achievability.w0)
    want = np.maximum(np.ceil(root * (1 - 1e-12)), w0)
    above = np.maximum(np.ceil(root * (1 + 1e-12)), w0)
    worst_ach = int(((ach < want) | (ach > above)).sum())
    worst_conv = 0.0
    if "converse" in fns:
        worst_conv = float(np.max(np.abs(bound.converse_window(eps) / fns["converse"](eps) - 1)))
    ok = worst_ach == 0 and worst_conv <= 1e-12
    return from_bool("symbolic", ok, f"{worst_ach} achievable windows differ from ceil of the closed form; "
                     f"max relative difference of the converse window {worst_conv:.3g}",
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
