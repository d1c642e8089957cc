"""`check_bound`: a conformance suite that any window bound must pass.

In the spirit of scikit-learn's `check_estimator`: one call runs every
property a bound on suffix-only windows must have, on a random grid of
targets, and reports each check by name.

    monotone        windows do not grow as the target eps grows
    ordered         converse window <= achievable window
    limits          the window grows without bound as eps -> 0, and is w0 at eps = D(w0)
    round_trip      D(window(eps)) <= eps < D(window(eps) - 1)   (smallest window; w < alpha 1e12)
    symbolic        the sympy expression of each window equals the numeric one
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from wzbounds import symbolic
from wzbounds.bounds import WindowBound


@dataclass(frozen=True)
class CheckResult:
    """One named check: passed or not, with what was seen."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class BoundReport:
    """Every check run on a bound; `ok` when all passed."""

    bound: WindowBound
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(ch.passed for ch in self.checks)

    def failures(self) -> list[CheckResult]:
        return [ch for ch in self.checks if not ch.passed]


def symbolic_windows(bound: WindowBound) -> dict[str, sp.Expr]:
    """The bound's windows as sympy expressions in eps (before the ceiling)."""
    up = bound.achievability
    out = {"achievable_window": symbolic.achievable_window_tv.subs({symbolic.C: up.C, symbolic.alpha: up.alpha})}
    if bound.converse is not None:
        lo = bound.converse
        out["converse_window"] = symbolic.converse_window_tv.subs({symbolic.c: 2 * lo.C, symbolic.alpha: lo.alpha})
    return out


def _eps_grid(bound: WindowBound, rng: np.random.Generator, n: int) -> np.ndarray:
    top = 1.0 if bound.distortion == "tv" else 10.0
    return np.sort(10.0 ** rng.uniform(-8, np.log10(top), n))


def check_bound(
    bound: WindowBound, *, n: int = 200, seed: int = 0, raise_on_failure: bool = True, rtol: float = 1e-9
) -> BoundReport:
    """Run every conformance check on `bound` over `n` random targets.

    Raises AssertionError naming each failed check unless `raise_on_failure`
    is False, in which case the report is returned either way.
    """
    rng = np.random.default_rng(seed)
    eps = _eps_grid(bound, rng, n)
    up = bound.achievability
    ach = bound.achievable_window(eps)
    checks: list[CheckResult] = []

    def record(name: str, ok: bool, detail: str) -> None:
        checks.append(CheckResult(name, bool(ok), detail))

    record("monotone", np.all(np.diff(ach) <= 0), "achievable window non-increasing in eps")
    if bound.converse is not None:
        conv = bound.converse_window(eps)
        record("monotone_converse", np.all(np.diff(conv) <= 0), "converse window non-increasing in eps")
        worst = float(np.max(conv / ach))
        record("ordered", worst <= 1 + rtol, f"max converse/achievable = {worst:.6g}")

    with np.errstate(over="ignore"):
        far = bound.achievability.window(eps[0] * 1e-100)
    record("limits", far > ach[0], f"window {far:g} at eps = {eps[0] * 1e-100:.3g} vs {ach[0]:g} at {eps[0]:.3g}")
    at_w0 = bound.achievability.window(up(up.w0) * (1 + rtol))
    record("limits_w0", np.all(at_w0 == np.ceil(up.w0)), f"window at eps = D(w0) is {at_w0}, w0 = {up.w0:g}")

    # one token changes D by a relative alpha / w; the check needs that above rounding
    exact = ach < up.alpha * 1e12
    reached = up(ach) <= eps
    shorter = ach - 1
    minimal = (shorter < np.ceil(up.w0)) | (up(np.maximum(shorter, 1.0)) > eps)
    record(
        "round_trip",
        bool(np.all((reached & minimal)[exact])),
        f"{int((~reached & exact).sum())} unreached, {int((~minimal & exact).sum())} not minimal "
        f"of {int(exact.sum())} windows below alpha * 1e12",
    )

    for name, expr in symbolic_windows(bound).items():
        fn = symbolic.numeric(expr, symbolic.eps)
        numeric = bound.achievability.real_window(eps) if name == "achievable_window" else bound.converse_window(eps)
        err = float(np.max(np.abs(fn(eps) / numeric - 1)))
        record(f"symbolic_{name}", err <= 1e-12, f"max relative difference {err:.3g}")

    report = BoundReport(bound, tuple(checks))
    if raise_on_failure and not report.ok:
        lines = "; ".join(f"{ch.name}: {ch.detail}" for ch in report.failures())
        raise AssertionError(f"bound failed conformance: {lines}")
    return report
