"""The assumption checker: which hypotheses hold on measured curves, with what constants.

Given `Curves` (per-sample TV on a window grid, optionally KL_mu and the
Bayes-risk gaps), `check_assumptions` reports:

    PTS / GTS  power law against geometric law (fit, extrapolation, verdict),
               alpha with a cluster-bootstrap interval, and the two-sided
               constants c = min_w delta(w) w^alpha, C = max_w delta(w) w^alpha
    REG        R(w) = E TV^2 / (E TV)^2; holds when R does not grow with w
               (log-log slope over the upper half of the windows <= 0.1); R = max R(w)
    KL         alpha_KL / alpha_TV with its interval: does the exponent double?
    BR         beta of the Bayes-risk gap with its interval, c_B and C_B
    FD         K = max_w delta(w) / Delta_TV(w); holds when the ratio does not grow
    exponents  the bounds core's table for the hypotheses that hold
    windows    the Theta band the bounds then give for target eps

The thresholds are stated in each verdict. Output as text or JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import in_unit_half_open
from wzbounds._output import jsonable
from wzbounds.bounds import ExponentTable, exponents, sliding_window_tv
from wzbounds.curves import Curves
from wzbounds.laws import GeometricLaw
from wzbounds.fit import Interval, LawComparison, compare_laws, exponent_interval, exponent_ratio_interval

GROWTH_TOLERANCE = 0.1  # log-log slope above which a ratio counts as growing


@dataclass(frozen=True)
class Verdict:
    """One hypothesis: holds (True/False, None when it cannot be checked), why, and its numbers."""

    hypothesis: str
    holds: bool | None
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssumptionReport:
    """Everything `check_assumptions` found; `verdicts` in the order PTS, GTS, REG, KL, BR, FD."""

    windows: NDArray[np.float64]
    n_samples: int
    delta: NDArray[np.float64]
    tv_law: LawComparison
    alpha: Interval
    verdicts: tuple[Verdict, ...]
    exponent_table: ExponentTable | None
    eps: NDArray[np.float64]
    band_lower: NDArray[np.float64] | None
    band_upper: NDArray[np.float64]

    def verdict(self, hypothesis: str) -> Verdict:
        for v in self.verdicts:
            if v.hypothesis == hypothesis:
                return v
        raise KeyError(hypothesis)

    def to_dict(self) -> dict[str, Any]:
        def interval(iv: Interval) -> dict[str, float]:
            return {"estimate": iv.estimate, "low": iv.low, "high": iv.high, "standard_error": iv.standard_error,
                    "level": iv.level}

        return jsonable({
            "windows": self.windows,
            "n_samples": self.n_samples,
            "delta": self.delta,
            "tv_law": asdict(self.tv_law),
            "alpha_tv": interval(self.alpha),
            "verdicts": [asdict(v) for v in self.verdicts],
            "exponents": None if self.exponent_table is None else asdict(self.exponent_table),
            "windows_for_eps": {"eps": self.eps, "lower": self.band_lower, "upper": self.band_upper},
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        a = self.alpha
        lines = [
            f"{self.n_samples} samples, windows {self.windows[0]:g}..{self.windows[-1]:g} ({self.windows.size} points)",
            f"alpha_TV = {a.estimate:.4f}  [{a.low:.4f}, {a.high:.4f}] ({a.level:.0%} cluster bootstrap)",
        ]
        for v in self.verdicts:
            mark = {True: "holds", False: "fails", None: "n/a"}[v.holds]
            lines.append(f"{v.hypothesis:>4}: {mark:5}  {v.summary}")
        t = self.exponent_table
        if t is None:
            lines.append("exponents: the geometric law wins; windows below come from C rho^w")
        else:
            lines.append(
                f"exponents: achievable KL {t.achievable_kl:.4g}, converse KL "
                f"{'-' if t.converse_kl is None else f'{t.converse_kl:.4g}'}: {t.reason}"
            )
        for i, e in enumerate(self.eps):
            lo = "-" if self.band_lower is None else f"{self.band_lower[i]:.4g}"
            lines.append(f"eps = {e:g}: window in [{lo}, {self.band_upper[i]:.6g}] tokens")
        return "\n".join(lines)


def _slope(w: NDArray, y: NDArray) -> float:
    """Log-log slope of y over the upper half of the windows."""
    half = w >= np.median(w)
    if half.sum() < 2 or np.any(y[half] <= 0):
        return 0.0
    return float(np.polyfit(np.log(w[half]), np.log(y[half]), 1)[0])


def _two_sided(w: NDArray, y: NDArray, exponent: float) -> tuple[float, float]:
    scaled = y * w**exponent
    return float(scaled.min()), float(scaled.max())


def check_assumptions(
    curves: Curves,
    *,
    eps: ArrayLike = (1e-2, 1e-3),
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    split: float | None = None,
) -> AssumptionReport:
    """Check PTS, GTS, REG, KL doubling, BR and FD on `curves` (see the module docstring)."""
    w = curves.windows
    delta = curves.mean("tv")
    law = compare_laws(w, delta, split)
    alpha = exponent_interval(curves, "tv", n_boot=n_boot, level=level, seed=seed)
    c_tv, C_tv = _two_sided(w, delta, alpha.estimate)
    if law.split is not None:
        ex = (f"log-RMSE extrapolated beyond w = {law.split:g}: power {law.power_extrapolation:.3g}, "
              f"geometric {law.geometric_extrapolation:.3g}")
    else:
        ex = f"in-sample log-RMSE power {law.power.log_rmse:.3g}, geometric {law.geometric.log_rmse:.3g}"
    verdicts = [
        Verdict("PTS", law.verdict == "power",
                f"delta(w) ~ {law.power.C:.3g} w^-{alpha.estimate:.3f}; {ex}",
                {"alpha": alpha.estimate, "alpha_low": alpha.low, "alpha_high": alpha.high, "c": c_tv, "C": C_tv,
                 "log_rmse": law.power.log_rmse, "extrapolation": law.power_extrapolation}),
        Verdict("GTS", law.verdict == "geometric",
                f"delta(w) ~ {law.geometric.C:.3g} {law.geometric.rho:.4f}^w; {ex}",
                {"rho": law.geometric.rho, "C": law.geometric.C, "log_rmse": law.geometric.log_rmse,
                 "extrapolation": law.geometric_extrapolation}),
    ]
    R = (curves.panel("tv") ** 2).mean(axis=0) / delta**2
    r_slope = _slope(w, R)
    reg = r_slope <= GROWTH_TOLERANCE
    verdicts.append(Verdict(
        "REG", reg, f"R = max E TV^2/(E TV)^2 = {R.max():.3f}; log-log slope of R(w) {r_slope:+.3f} "
        f"(holds when <= {GROWTH_TOLERANCE})", {"R": float(R.max()), "R_by_window": R, "slope": r_slope}))

    if curves.kl is not None:
        ratio = exponent_ratio_interval(curves, "kl", "tv", n_boot=n_boot, level=level, seed=seed)
        doubles = ratio.covers(2.0)
        verdicts.append(Verdict(
            "KL", doubles, f"alpha_KL/alpha_TV = {ratio.estimate:.3f} [{ratio.low:.3f}, {ratio.high:.3f}] "
            f"(mu = {curves.mu:g}); the exponent {'doubles' if doubles else 'does not double'}; "
            f"kappa_mu / E TV^2 = {float(np.median(curves.mean('kl') / (curves.panel('tv') ** 2).mean(axis=0))):.3g} (median over w)",
            {"ratio": ratio.estimate, "ratio_low": ratio.low, "ratio_high": ratio.high}))
    else:
        verdicts.append(Verdict("KL", None, "no KL_mu curve given"))

    beta = None
    if curves.bayes_kl is not None and np.all(curves.mean("bayes_kl") > 0):
        gap = curves.mean("bayes_kl")
        br_law = compare_laws(w, gap, split)
        b = exponent_interval(curves, "bayes_kl", n_boot=n_boot, level=level, seed=seed)
        c_B, C_B = _two_sided(w, gap, b.estimate)
        achievable = (2.0 if reg else 1.0) * alpha.estimate
        consistent = b.high >= achievable  # a converse cannot decay slower than the achievability
        beta = max(b.estimate, achievable) if br_law.verdict == "power" and consistent else None
        note = "" if consistent else f"; beta below the achievable KL exponent {achievable:.3f}: not used as a converse"
        verdicts.append(Verdict(
            "BR", br_law.verdict == "power",
            f"Delta(w) in [{c_B:.3g}, {C_B:.3g}] w^-{b.estimate:.3f}, beta in [{b.low:.3f}, {b.high:.3f}]{note}",
            {"beta": b.estimate, "beta_low": b.low, "beta_high": b.high, "c_B": c_B, "C_B": C_B}))
    else:
        verdicts.append(Verdict("BR", None, "no (positive) Bayes-risk curve given"))

    fd = False
    c_conv = None
    if curves.bayes_tv is not None and np.all(curves.mean("bayes_tv") > 0):
        gap_tv = curves.mean("bayes_tv")
        ratio_fd = delta / gap_tv
        fd_slope = _slope(w, ratio_fd)
        fd = fd_slope <= GROWTH_TOLERANCE
        c_conv, _ = _two_sided(w, gap_tv, alpha.estimate)
        verdicts.append(Verdict(
            "FD", fd, f"K = max delta/Delta_TV = {ratio_fd.max():.3f}; log-log slope {fd_slope:+.3f} "
            f"(holds when <= {GROWTH_TOLERANCE})", {"K": float(ratio_fd.max()), "slope": fd_slope}))
    else:
        verdicts.append(Verdict("FD", None, "no Bayes-risk TV curve given"))

    eps = in_unit_half_open("eps", np.atleast_1d(np.asarray(eps, dtype=np.float64)))
    if law.verdict == "geometric":  # the windows come from the geometric law; no power-law bookkeeping
        g = law.geometric
        C_geo = float(np.max(delta / g.rho**w)) if g.rho < 1 else g.C
        upper = GeometricLaw(C_geo, min(g.rho, 1 - 1e-12)).window(eps)
        return AssumptionReport(w, curves.n_samples, delta, law, alpha, tuple(verdicts), None, eps, None, upper)
    table = exponents(alpha.estimate, reg=reg, fd=fd, beta=beta)
    c_B_tv = None if c_conv is None else min(c_conv, 2 * C_tv)
    bound = sliding_window_tv(C_tv, alpha.estimate, c_B=c_B_tv)
    band_lower = bound.converse_window(eps) if bound.converse is not None else None
    return AssumptionReport(
        windows=w, n_samples=curves.n_samples, delta=delta, tv_law=law, alpha=alpha, verdicts=tuple(verdicts),
        exponent_table=table, eps=eps, band_lower=band_lower, band_upper=bound.achievable_window(eps),
    )
