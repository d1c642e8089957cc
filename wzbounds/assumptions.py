"""The assumption checker: which hypotheses hold on measured curves, with what constants.

Given `Curves` (per-sample TV on a window grid, optionally KL_mu and the
Bayes-risk gaps), `check_assumptions` decides each hypothesis from the
cluster-bootstrap interval (documents resampled whole) of the quantity the
hypothesis is about, and says "inconclusive" when the interval cannot decide:

    PTS         log(alternative / power extrapolation error) of delta, for the geometric law and
                the stretched exponential exp(-b w^(1/2)): > 0 for both, and a local exponent that
                does not fall toward 0 (no flattening, the sub-polynomial alternative); fails when
                the exponent interval lies below MIN_ALPHA = 0.05 (a constant or rising curve)
    GTS         log(geometric / power extrapolation error) of delta: < 0 geometric
    REG         log-log slope of R(w) = E TV^2 / (E TV)^2 over the fit range: holds when <= 0.1
    KL          alpha_KL / alpha_TV (paired): within 10% of 2 (what REG and the sandwich predict),
                and neither exponent bending by more than 10% across the fit range; fails on the
                ratio alone (a bend makes it inconclusive)
    BR_TV, BR_mu, BR
                the law of each Bayes-risk gap (Delta_TV, Delta_mu, Delta), power against geometric
    FD          log-log slope of K(w) = delta / Delta_TV: holds when <= 0.1

With fewer than MIN_SAMPLES = 8 samples no hypothesis is decided ("not decided by rule"): a
percentile bootstrap over so few clusters is too narrow to trust, so no window is printed
either (`wzbounds.verdict.too_few`, the rule `validate`, `arena` and `compare` apply too).

Exponents are fitted on the fit range (the upper half, on the log scale, of
the windows whose mean is measured to 20% relative standard error: beyond
them a few rare samples carry the mean) and reported as measured, with their intervals,
distortion by distortion (`MeasuredExponents`): the achievable exponent from
PTS (and REG for KL_mu), the converse exponent from the gap *in the same
distortion*, and whether they meet, decided on the paired ratio of the two.
No exponent is raised or lowered to make them meet, and no KL_mu converse
comes from the unsmoothed gap.

The windows for target eps: the upper end from the PTS law (C = max over the
fit range of delta(w) w^alpha); the lower end only from a lower law that holds
for Delta_TV, with its own fitted exponent (c_B = min of Delta_TV(w) w^beta_TV),
for policies whose prediction is a function of the last w tokens; none
otherwise. Output as text or JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import in_unit_half_open
from wzbounds.output import jsonable
from wzbounds.bounds import SUFFIX_ONLY, WindowBound
from wzbounds.curves import Curves
from wzbounds.fit import (MAX_RELATIVE_ERROR, Interval, LawComparison, asymptotic_range, bend_interval, compare_laws, exponent_interval,
                          exponent_ratio_interval, growth_interval, in_fit_range, law_preference_interval,
                          measured_windows)
from wzbounds.laws import GeometricLaw, PowerLaw
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict, decide_interval, too_few, undecided

GROWTH_TOLERANCE = 0.1  # log-log slope above which a ratio counts as growing
EXPONENT_TOLERANCE = 0.1  # relative: two exponents "meet" when their ratio lies within 10% of the target
MIN_ALPHA = 0.05  # PTS: an exponent below this bounds nothing (the window for eps = 0.01 would exceed 1e40 C^20)
FLATTENING = 0.25  # PTS: the upper-half exponent may not fall more than 25% below the lower-half one
GAPS = {"tv": ("bayes_tv", "BR_TV", "Delta_TV"), "kl_mu": ("bayes_kl_mu", "BR_mu", "Delta_mu"),
        "kl": ("bayes_kl", "BR", "Delta")}


def _fmt(iv: Interval | None, scale: float = 1.0) -> str:
    if iv is None:
        return "-"
    return f"{scale * iv.estimate:.4g} [{scale * iv.low:.4g}, {scale * iv.high:.4g}]"


@dataclass(frozen=True)
class MeasuredExponents:
    """One distortion's exponents as measured, for D(w) ~ w^-exponent.

    achievable   the sliding window's exponent from PTS: factor * alpha_TV (factor 2 for
                 KL_mu under REG, 1 otherwise); None when PTS does not hold or nothing
                 bounds this distortion from above (unsmoothed KL)
    converse     the fitted exponent of the Bayes-risk gap in this distortion, None when
                 the gap is not given or its power law does not hold
    meet         decided on the paired bootstrap ratio converse / achievable; None when
                 either is missing
    """

    distortion: str
    factor: float
    achievable: Interval | None
    achievable_from: str
    converse: Interval | None
    converse_from: str
    meet: Verdict | None

    def to_dict(self) -> dict[str, Any]:
        achievable = None if self.achievable is None else self.achievable.to_dict()
        if achievable is not None:
            achievable = {k: (v * self.factor if k in ("estimate", "low", "high", "standard_error") else v)
                          for k, v in achievable.items()}
        return {"distortion": self.distortion, "achievable": achievable, "achievable_from": self.achievable_from,
                "converse": None if self.converse is None else self.converse.to_dict(), "converse_from": self.converse_from,
                "meet": None if self.meet is None else self.meet.to_dict()}


@dataclass(frozen=True)
class AssumptionReport:
    """Everything `check_assumptions` found; `verdicts` in the order PTS, GTS, REG, KL, BR_TV, BR_mu, BR, FD."""

    windows: NDArray[np.float64]
    n_samples: int
    fit_range: tuple[float, float]
    delta: NDArray[np.float64]
    tv_law: LawComparison
    alpha: Interval
    verdicts: tuple[Verdict, ...]
    exponents: tuple[MeasuredExponents, ...]
    eps: NDArray[np.float64]
    band_lower: NDArray[np.float64] | None
    band_upper: NDArray[np.float64] | None
    band_notes: tuple[str, ...]
    fit_note: str = ""  # how the fit range was chosen, and which windows were left out and why

    def verdict(self, hypothesis: str) -> Verdict:
        for v in self.verdicts:
            if v.claim == hypothesis:
                return v
        raise KeyError(hypothesis)

    def exponent(self, distortion: str) -> MeasuredExponents:
        for e in self.exponents:
            if e.distortion == distortion:
                return e
        raise KeyError(distortion)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "windows": self.windows,
            "n_samples": self.n_samples,
            "fit_range": list(self.fit_range),
            "fit_note": self.fit_note,
            "delta": self.delta,
            "tv_law": asdict(self.tv_law),
            "alpha_tv": self.alpha.to_dict(),
            "verdicts": [v.to_dict() for v in self.verdicts],
            "exponents": [e.to_dict() for e in self.exponents],
            "windows_for_eps": {"eps": self.eps, "lower": self.band_lower, "upper": self.band_upper,
                                "notes": list(self.band_notes)},
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        a = self.alpha
        lines = [
            f"{self.n_samples} samples, windows {self.windows[0]:g}..{self.windows[-1]:g} ({self.windows.size} points); "
            f"exponents fitted on [{self.fit_range[0]:g}, {self.fit_range[1]:g}]",
            *([f"  ({self.fit_note})"] if self.fit_note else []),
            f"alpha_TV = {a.estimate:.4f}  [{a.low:.4f}, {a.high:.4f}] ({a.level:.0%} cluster bootstrap)",
        ]
        for v in self.verdicts:
            lines.append(f"{v.claim:>5}: {v.outcome:12}  {v.reason}")
        lines.append("exponents (D(w) ~ w^-e), as measured:")
        for e in self.exponents:
            meet = "-" if e.meet is None else e.meet.outcome
            lines.append(f"  {e.distortion:>5}: achievable {_fmt(e.achievable, e.factor)} ({e.achievable_from}); "
                         f"converse {_fmt(e.converse)} ({e.converse_from}); meet: {meet}")
        lines += [f"  {n}" for n in self.band_notes]
        for i, eps in enumerate(self.eps):
            lo = "-" if self.band_lower is None else f"{self.band_lower[i]:.4g}"
            up = "-" if self.band_upper is None else f"{self.band_upper[i]:.6g}"
            lines.append(f"eps = {eps:g}: window in [{lo}, {up}] tokens")
        return "\n".join(lines)


def _law_verdict(claim: str, curves: Curves, name: str, label: str, split: float | None, n_boot: int,
                 level: float, seed: int, fit_range: tuple[float, float],
                 against: tuple[str, ...] = ("geometric",), min_exponent: float = 0.0
                 ) -> tuple[Verdict, Interval | None]:
    """Power law against each law in `against` (`wzbounds.fit.ALTERNATIVES`) for the mean curve
    `name`, each decided on the interval of log(alternative / power extrapolation error); with the
    exponent interval on the fit range. Holds when the power law extrapolates better than every
    alternative on the whole of each interval and the exponent is positive; fails when some
    alternative extrapolates better on the whole of its interval, or the whole exponent interval lies
    at or below `min_exponent` (no material decay). The verdict's interval is the
    geometric comparison's (GTS is decided on it too)."""
    beta = exponent_interval(curves, name, n_boot=n_boot, level=level, seed=seed, fit_range=fit_range)
    try:
        prefs = {alt: law_preference_interval(curves, name, split=split, against=alt, n_boot=n_boot, level=level,
                                              seed=seed) for alt in against}
    except ValueError as exc:  # too few windows on one side of the split
        return Verdict(claim, INCONCLUSIVE, f"cannot compare the laws by extrapolation: {exc}",
                       None, {"exponent": beta.estimate}), beta
    keep = in_fit_range(curves.windows, fit_range)
    w, y = curves.windows[keep], curves.mean(name)[keep]
    c_low, c_high = float((y * w**beta.estimate).min()), float((y * w**beta.estimate).max())
    beaten = [alt for alt, p in prefs.items() if p.high < 0]
    if beta.high <= min_exponent:
        outcome, why = FAILS, (f"{label} does not decay over the fit range (its exponent interval lies at or "
                               f"below {min_exponent:g}): no power law with a material exponent bounds it")
    elif beaten:
        outcome, why = FAILS, f"the {' and '.join(beaten)} law extrapolates better on every part of its interval"
    elif all(p.low > 0 for p in prefs.values()) and beta.low > 0:
        outcome, why = HOLDS, "the power law extrapolates better than each alternative on every part of its interval"
    elif all(p.low > 0 for p in prefs.values()):
        outcome, why = INCONCLUSIVE, ("the power law extrapolates better, but decay is not established: the "
                                      "exponent interval contains 0")
    else:
        outcome, why = INCONCLUSIVE, "an interval contains 0: the data cannot tell the laws apart"
    compared = "; ".join(f"log({alt}/power extrapolation error) in [{p.low:.3g}, {p.high:.3g}]"
                         for alt, p in prefs.items())
    reason = (f"{label}(w) in [{c_low:.3g}, {c_high:.3g}] w^{-beta.estimate:.3f}, exponent [{beta.low:.3f}, "
              f"{beta.high:.3f}]; {compared}: {why}")
    numbers = {"exponent": beta.estimate, "exponent_low": beta.low, "exponent_high": beta.high, "c": c_low, "C": c_high}
    for alt, p in prefs.items():
        numbers.update({f"{alt}_preference_low": p.low, f"{alt}_preference_high": p.high})
    first = prefs[against[0]]
    return Verdict(claim, outcome, reason, (first.low, first.high), numbers), beta


def _no_flattening(pts: Verdict, bend: Interval) -> Verdict:
    """PTS, an upper power law, also needs the local exponent not to fall toward zero over the
    measured windows: a sub-polynomial (logarithmic) decay extrapolates better than a geometric one
    and still exceeds every power law eventually. bend = exponent on the upper half of the measured
    windows (log scale) over the lower half's: a power law has 1, a curve that steepens (a bend, or
    TV saturating near 1 at small windows) more, a flattening one less (0.3 / ln(w + 2) on 1..1024:
    about 0.7). The whole measured range is used, not the fit range: its halves span twice the
    decades, so the test has the power to pass a power law at the quick preset's size. PTS fails when the whole interval lies below 1 - FLATTENING, and cannot hold unless the
    whole interval lies above it."""
    numbers = {**pts.numbers, "bend": bend.estimate, "bend_low": bend.low, "bend_high": bend.high}
    floor = 1 - FLATTENING
    text = (f"local exponent, upper over lower half of the measured windows = {bend.estimate:.3g} [{bend.low:.3g}, "
            f"{bend.high:.3g}]")
    if pts.outcome == HOLDS and bend.high < floor:
        return Verdict("PTS", FAILS, f"{pts.reason}; but {text}: the decay flattens (sub-polynomial), so no power law "
                       "bounds it asymptotically", pts.interval, numbers)
    if pts.outcome == HOLDS and bend.low < floor:
        return Verdict("PTS", INCONCLUSIVE, f"{pts.reason}; but {text}: the exponent may be falling toward 0 "
                       "(sub-polynomial decay not excluded)", pts.interval, numbers)
    return Verdict("PTS", pts.outcome, f"{pts.reason}; {text}", pts.interval, numbers)


def _growth_verdict(claim: str, label: str, slope: Interval, **numbers: Any) -> Verdict:
    return decide_interval(claim, slope.low, slope.high, holds_within=(-np.inf, GROWTH_TOLERANCE),
                           reason=f"log-log slope of {label} over the fit range (a constant exists when "
                                  f"<= {GROWTH_TOLERANCE})", slope=slope.estimate, **numbers)


def _meet(claim: str, ratio: Interval, target: float, what: str) -> Verdict:
    band = (target * (1 - EXPONENT_TOLERANCE), target * (1 + EXPONENT_TOLERANCE))
    return decide_interval(claim, ratio.low, ratio.high, holds_within=band,
                           reason=f"{what} = {ratio.estimate:.4g} (paired bootstrap), meets when within "
                                  f"{EXPONENT_TOLERANCE:.0%} of {target:g}", ratio=ratio.estimate)


def _kl_verdict(curves: Curves, fit_range: tuple[float, float], boot: dict[str, Any]) -> Verdict:
    """"kappa_mu decays as a power law with twice TV's exponent" (REG and the sandwich): holds when
    the paired ratio alpha_KL / alpha_TV lies within 10% of 2 and neither exponent bends by more than
    10% between the halves of the fit range; fails on the ratio alone (its interval wholly outside
    the band). A bend blocks "holds" (no single exponent to double, as on the copy source) but does
    not fail the claim: each half's exponent rests on a few budgets, and on panels resampled from
    real measurements a bend rule that fails gave 9-25% fails-when-true (docs/validation.md)."""
    parts = [_meet("KL", exponent_ratio_interval(curves, "kl", "tv", fit_range=fit_range, **boot), 2.0,
                   "alpha_KL / alpha_TV")]
    for name, label in (("kl", "KL_mu"), ("tv", "TV")):
        bend = bend_interval(curves, name, fit_range=fit_range, **boot)
        parts.append(_meet("KL", bend, 1.0, f"{label} exponent, upper over lower half of the fit range"))
    outcomes = {p.outcome for p in parts}
    outcome = FAILS if parts[0].outcome == FAILS else HOLDS if outcomes == {HOLDS} else INCONCLUSIVE
    tv2 = (curves.panel("tv") ** 2).mean(axis=0)
    reason = "; ".join(p.reason for p in parts) + (
        f" (mu = {curves.mu:g}); kappa_mu / E TV^2 = {float(np.median(curves.mean('kl') / tv2)):.3g} (median over w)")
    return Verdict("KL", outcome, reason, parts[0].interval,
                   {"ratio": parts[0].numbers["ratio"], "bend_kl": parts[1].numbers["ratio"],
                    "bend_tv": parts[2].numbers["ratio"]})


def check_assumptions(
    curves: Curves,
    *,
    eps: ArrayLike = (1e-2, 1e-3),
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    split: float | None = None,
    fit_range: tuple[float, float] | None = None,
) -> AssumptionReport:
    """Check PTS, GTS, REG, KL, BR (per gap) and FD on `curves` (see the module docstring).

    fit_range: (w_min, w_max) of the exponent fits; default the upper half, on the log scale, of
    the windows whose mean TV is measured to 20% relative standard error
    (`asymptotic_range(measured_windows(curves))`).
    split: the window up to which laws are fitted before extrapolating (default max / 4).
    """
    eps = in_unit_half_open("eps", np.atleast_1d(np.asarray(eps, dtype=np.float64)))
    w = curves.windows
    if w.size < 3:
        raise ValueError(f"the checker needs at least 3 windows to fit and compare laws; got {w.size}")
    measured = measured_windows(curves)
    if fit_range is None:
        fit_range = asymptotic_range(measured)
        fit_note = "the upper half, on the log scale, of the windows whose mean TV is measured to " \
                   f"{MAX_RELATIVE_ERROR:.0%} relative standard error"
        if measured.size < w.size:
            fit_note += (f"; windows {w[measured.size]:g}..{w[-1]:g} left out: their mean's relative standard error "
                         f"exceeds {MAX_RELATIVE_ERROR:.0%} (a few samples carry it)")
        if fit_range == (float(measured[0]), float(measured[-1])):
            fit_note += "; every measured window, since the upper half holds fewer than 3"
    else:
        fit_range, fit_note = (float(fit_range[0]), float(fit_range[1])), "the fit range given"
    boot = {"n_boot": n_boot, "level": level, "seed": seed}
    keep = in_fit_range(w, fit_range)
    delta = curves.mean("tv")
    law = compare_laws(w, delta, split)
    pts, alpha = _law_verdict("PTS", curves, "tv", "delta", split, **boot, fit_range=fit_range,
                              against=("geometric", "stretched"), min_exponent=MIN_ALPHA)
    pts = _no_flattening(pts, bend_interval(curves, "tv", fit_range=(measured[0], measured[-1]), **boot))
    gts_numbers = {"rho": law.geometric.rho, "C": law.geometric.C}
    if alpha.high <= 0:  # neither law: delta does not decay
        gts = Verdict("GTS", FAILS, f"delta does not decay over the fit range (exponent interval [{alpha.low:.3g}, "
                      f"{alpha.high:.3g}]): no geometric decay either", pts.interval, gts_numbers)
    elif pts.interval is None:
        gts = Verdict("GTS", INCONCLUSIVE, "the laws cannot be compared by extrapolation", None, gts_numbers)
    else:  # decided on the same extrapolation interval as PTS, not as PTS's mirror: a flattening curve is neither
        low, high = pts.interval
        outcome = HOLDS if high < 0 else FAILS if low > 0 else INCONCLUSIVE
        why = {HOLDS: "the geometric law extrapolates better on every part of the interval",
               FAILS: "the power law extrapolates better on every part of the interval",
               INCONCLUSIVE: "the interval contains 0: the data cannot tell the laws apart"}[outcome]
        gts = Verdict("GTS", outcome, f"delta(w) ~ {law.geometric.C:.3g} {law.geometric.rho:.4f}^w; log(geometric/power "
                      f"extrapolation error) in [{low:.3g}, {high:.3g}]: {why}", pts.interval, gts_numbers)
    verdicts = [pts, gts]

    tv_panel = curves.panel("tv")
    r_slope = growth_interval(w, tv_panel**2, tv_panel, power=2.0, fit_range=fit_range, **boot)
    R = (tv_panel**2).mean(axis=0) / delta**2
    reg = _growth_verdict("REG", "R(w) = E TV^2 / (E TV)^2", r_slope, R=float(R[keep].max()), R_by_window=R)
    verdicts.append(reg)

    verdicts.append(_kl_verdict(curves, fit_range, boot) if curves.kl is not None
                    else Verdict("KL", INCONCLUSIVE, "no KL_mu curve given"))

    gap_intervals: dict[str, Interval | None] = {}
    for distortion, (name, claim, label) in GAPS.items():
        gap_intervals[distortion] = None
        if name not in curves.available():
            verdicts.append(Verdict(claim, INCONCLUSIVE, f"no {label} curve ({name}) given"))
        elif not np.all(curves.mean(name) > 0):
            verdicts.append(Verdict(claim, INCONCLUSIVE, f"{label} is 0 at some window: no power law to fit"))
        else:
            v, beta = _law_verdict(claim, curves, name, label, split, **boot, fit_range=fit_range)
            verdicts.append(v)
            gap_intervals[distortion] = beta if v.outcome == HOLDS else None

    fd = Verdict("FD", INCONCLUSIVE, "no Bayes-risk TV curve (bayes_tv) given")
    if "bayes_tv" in curves.available() and np.all(curves.mean("bayes_tv") > 0):
        gap_panel = curves.panel("bayes_tv")
        fd_slope = growth_interval(w, tv_panel, gap_panel, fit_range=fit_range, **boot)
        K = delta / curves.mean("bayes_tv")
        fd = _growth_verdict("FD", "K(w) = delta / Delta_TV", fd_slope, K=float(K[keep].max()))
    verdicts.append(fd)
    few = too_few(curves.n_samples)
    if few is not None:  # nothing is decided on so few documents, and no window follows
        verdicts = [v if v.outcome == INCONCLUSIVE else undecided(v, few) for v in verdicts]
        pts, gts, reg = verdicts[0], verdicts[1], verdicts[2]

    rows = _exponent_rows(curves, pts, reg, alpha, gap_intervals, fit_range, boot)
    lower, upper, notes = _windows(curves, pts, gts, law, alpha, gap_intervals["tv"],
                                   next(v for v in verdicts if v.claim == "BR_TV"), fit_range, eps)
    return AssumptionReport(w, curves.n_samples, fit_range, delta, law, alpha, tuple(verdicts), tuple(rows), eps,
                            lower, upper, tuple(notes), fit_note)


def _exponent_rows(curves: Curves, pts: Verdict, reg: Verdict, alpha: Interval,
                   gaps: dict[str, Interval | None], fit_range: tuple[float, float],
                   boot: dict[str, Any]) -> list[MeasuredExponents]:
    rows = []
    for distortion in ("tv", "kl_mu", "kl"):
        name, claim, label = GAPS[distortion]
        factor = 2.0 if (distortion == "kl_mu" and reg.outcome == HOLDS) else 1.0
        if distortion == "kl":
            achievable, ach_from = None, "none: unsmoothed KL of a truncation is unbounded"
        elif pts.outcome != HOLDS:
            achievable, ach_from = None, f"PTS {pts.outcome}"
        else:
            achievable = alpha
            ach_from = {"tv": "PTS", "kl_mu": "PTS, REG and the sandwich" if factor == 2.0
                        else "PTS and the sandwich (REG not established)"}[distortion]
        converse = gaps[distortion]
        conv_from = (f"{claim}: the fitted law of {label}, for policies where {SUFFIX_ONLY}" if converse is not None
                     else f"{claim} not established")
        meet = None
        if achievable is not None and converse is not None:
            ratio = exponent_ratio_interval(curves, name, "tv", fit_range=fit_range, **boot)
            meet = _meet(f"meet_{distortion}", ratio, factor, f"{label} exponent / alpha_TV")
        rows.append(MeasuredExponents(distortion, factor, achievable, ach_from, converse, conv_from, meet))
    return rows


def _windows(curves: Curves, pts: Verdict, gts: Verdict, law: LawComparison, alpha: Interval,
             beta_tv: Interval | None, br_tv: Verdict, fit_range: tuple[float, float],
             eps: NDArray) -> tuple[NDArray | None, NDArray | None, list[str]]:
    """The TV windows for each eps and which hypothesis gives each end (see the module docstring).
    The constants are the PTS verdict's C = max delta(w) w^alpha and the BR_TV verdict's
    c = min Delta_TV(w) w^beta_TV, both over the fit range."""
    w, delta = curves.windows, curves.mean("tv")
    if gts.outcome == HOLDS:
        g = law.geometric
        C_geo = float(np.max(delta / g.rho**w)) if g.rho < 1 else g.C
        upper = GeometricLaw(C_geo, min(g.rho, 1 - 1e-12)).window(eps)
        return None, upper, [f"upper end: GTS, delta(w) <= {C_geo:.4g} {g.rho:.4f}^w; no lower end"]
    if pts.outcome != HOLDS:
        return None, None, [f"no windows: neither PTS nor GTS holds on these curves (PTS {pts.outcome})"]
    C = pts.numbers["C"]
    upper_law = PowerLaw(C, alpha.estimate, fit_range[0])
    if beta_tv is None:
        bound = WindowBound("tv", upper_law, achievable_from="PTS (fitted)")
        notes = bound.describe()
        notes[-1] = "lower end: none (no lower law holds for Delta_TV, the TV Bayes-risk gap)"
        return None, bound.achievable_window(eps), notes
    c_B = br_tv.numbers["c"]
    converse = PowerLaw(c_B / 2, beta_tv.estimate, fit_range[0])
    described = (f"BR_TV, Delta_TV(w) >= {c_B:.4g} w^-{beta_tv.estimate:.4f} (fitted, taken to hold beyond "
                 f"w = {w.max():g}), for policies where {SUFFIX_ONLY}")
    upper = upper_law.window(eps)
    if beta_tv.high < alpha.low:  # the intervals do not overlap: the fitted laws do contradict each other
        bound = WindowBound("tv", upper_law, achievable_from="PTS (fitted)")
        return None, upper, [*bound.describe()[:1], (
            f"lower end: none (the converse exponent {_fmt(beta_tv)} lies wholly below the achievable exponent "
            f"{_fmt(alpha)}: a lower law decaying more slowly than an upper law contradicts it)")]
    root = converse.real_window(eps)
    lower = np.where(root >= fit_range[0], root, 1.0)
    notes = [f"upper end (achievability): {C:.6g} w^-{alpha.estimate:.6g}, from PTS (fitted)",
             f"lower end (converse): {c_B / 2:.6g} w^-{beta_tv.estimate:.6g}, from {described}"]
    if np.any(root < fit_range[0]):
        notes.append(f"where the converse root falls below w = {fit_range[0]:g}, the start of the fitted law, "
                     "the lower end is the trivial 1")
    crossed = lower > upper
    if crossed.any():  # beta_TV a little below alpha, within their intervals: the ends cross far out
        notes.append(f"at eps <= {eps[crossed].max():g} the two fitted laws cross (the converse exponent "
                     f"{_fmt(beta_tv)} and the achievable {_fmt(alpha)} overlap, so they do not contradict, but "
                     "the data cannot say which is steeper): no lower end there")
        lower = np.where(crossed, np.nan, lower)
    return lower, upper, notes