"""The seed paper's claims about suffix-only caches, decided on measured curves.

Each rule is a function from `Curves` (panels paired by sample: row i of every
argument is the same document) to the one `Verdict`, decided from the
cluster-bootstrap interval of the quantity the claim is about (documents
resampled whole, the same documents for every panel of a claim). `validate`
decides these rules on a real model, `check` and `compare` on a user's curve
files: the same curves give the same verdict through every command.

The sliding-window claims share one fit: `check_assumptions(sliding)` (its fit
range, its PTS, its KL rule, its window for eps); the rules below take that
report (`report=`) or compute it. Null and alternative of each rule, and the
alternatives it is tested against, are in docs/validation.md ("The claims").

    power_law        PTS of the checker: a power law against geometric decay
                     (extrapolation interval) and against a flattening,
                     sub-polynomial decay (bend interval)
    alpha_positive   alpha_TV > 0 on the fit range (interval), with the fit-range
                     table and the local slopes beside it
    alpha_agrees     equivalence: the alpha_TV interval inside paper x (1 +- tolerance)
    same_positions   alpha(re-indexed) / alpha(preserved) within 10% of 1; an
                     identity (every per-document difference below
                     IDENTITY_TOLERANCE) is reported as an engine check
    kl_doubling      the checker's KL rule: alpha_KL / alpha_TV within 10% of 2, no bend
    sink_recovery    alpha_KL(sink+recent) / (2 alpha_TV) within 10% of 1, budgets
                     above twice the sinks
    recency          E D(random) / E D(sliding) at the largest budget above `than`;
                     with `large_budget`, a grid that stops below it is inconclusive
                     and the budget where the ratio would reach `than` is extrapolated
    bound_prediction the window the law fitted on half the documents, below the top budget,
                     predicts for a distortion reached beyond them, over the window the
                     other half needs, within a factor 2
    theta_window     the checker's window for eps from PTS, with its interval; none
                     unless PTS holds
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wzbounds.assumptions import EXPONENT_TOLERANCE, AssumptionReport, check_assumptions
from wzbounds.claims.scaling import memory_to_reach, pair
from wzbounds.curves import Curves
from wzbounds.fit import (Interval, asymptotic_range, cluster_bootstrap, fitted_exponents,
                          fitted_laws, in_fit_range, resampled_means)
from wzbounds.ranges import local_slopes, range_exponents
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict, decide_interval

PAPER = {  # the seed paper's measurements (Qwen2.5-0.5B), for the equivalence claims
    "model": "Qwen2.5-0.5B",
    "alpha_tv": {"natural": 0.44, "code": 0.38},
    "alpha_kl_over_tv": 2.00,
    "recency_over_random": 100.0,
}
PAPER_TOLERANCE = 0.25  # alpha_agrees: the whole interval within +-25% of the paper's value
IDENTITY_TOLERANCE = 1e-4  # same_positions: TV differences below this are float rounding (an identity)
TWO_ORDERS = 100.0
LARGE_BUDGET = 256  # recency at "large budgets": the largest budget must reach this many tokens
PREDICTION_FACTOR = 2.0  # bound_prediction: predicted / needed window within this factor
THETA_EPS = (0.1, 0.03, 0.01)


def _boot(n_boot: int, level: float, seed: int) -> dict[str, Any]:
    return {"n_boot": n_boot, "level": level, "seed": seed}


def _report(sliding: Curves, report: AssumptionReport | None, boot: dict[str, Any]) -> AssumptionReport:
    return report if report is not None else check_assumptions(sliding, eps=THETA_EPS, **boot)


def _renamed(claim: str, v: Verdict, **numbers: Any) -> Verdict:
    return Verdict(claim, v.outcome, v.reason, v.interval, {**v.numbers, **numbers})


def exponent_ratio(top: Curves, bottom: Curves, fit_range: tuple[float, float], *, top_name: str = "tv",
                   bottom_name: str = "tv", scale: float = 1.0, n_boot: int = 1000, level: float = 0.95,
                   seed: int = 0) -> Interval:
    """alpha(top) / (scale alpha(bottom)), both fitted on `fit_range` and refitted on every paired
    resample of the documents (row i of both panels is the same document)."""
    if top.n_samples != bottom.n_samples:
        raise ValueError(f"paired panels need the same documents; got {top.n_samples} and {bottom.n_samples} rows")
    kt, kb = in_fit_range(top.windows, fit_range), in_fit_range(bottom.windows, fit_range)
    wt, wb = top.windows[kt], bottom.windows[kb]
    pt, pb = top.panel(top_name)[:, kt], bottom.panel(bottom_name)[:, kb]

    def stat(rows):
        with np.errstate(divide="ignore", invalid="ignore"):
            return fitted_exponents(wt, resampled_means(pt, rows)) / (scale * fitted_exponents(wb, resampled_means(pb, rows)))

    return cluster_bootstrap(top.n_samples, stat, n_boot=n_boot, level=level, seed=seed)


def _within(claim: str, iv: Interval, target: float, tolerance: float, what: str, **numbers: Any) -> Verdict:
    band = (target * (1 - tolerance), target * (1 + tolerance))
    return decide_interval(claim, iv.low, iv.high, holds_within=band,
                           reason=f"{what} = {iv.estimate:.4g} (paired bootstrap); holds within {tolerance:.0%} "
                                  f"of {target:g}", estimate=iv.estimate, **numbers)


def power_law(sliding: Curves, *, report: AssumptionReport | None = None, n_boot: int = 1000, level: float = 0.95,
              seed: int = 0) -> Verdict:
    """The checker's PTS verdict on the sliding window's TV curve (`wzbounds.assumptions`)."""
    r = _report(sliding, report, _boot(n_boot, level, seed))
    return _renamed("power_law", r.verdict("PTS"), fit_range=list(r.fit_range), fit_note=r.fit_note)


def alpha_positive(sliding: Curves, *, report: AssumptionReport | None = None, ranges: bool = True,
                   n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Verdict:
    """"delta decays": the alpha_TV interval on the checker's fit range lies above 0. With `ranges`,
    the exponent by fit range (every sub-range of at least a decade) and the local slopes go in its
    numbers (they do not enter the decision)."""
    boot = _boot(n_boot, level, seed)
    r = _report(sliding, report, boot)
    iv = r.alpha
    table = {"fit_ranges": [x.to_dict() for x in range_exponents(sliding, **boot)],
             "local_slopes": [x.to_dict() for x in local_slopes(sliding, **boot)]} if ranges else {}
    return decide_interval("alpha_tv", iv.low, iv.high, holds_within=(0.0, np.inf),
                           reason=f"alpha_TV = {iv.estimate:.4g} on budgets {r.fit_range[0]:g}..{r.fit_range[1]:g} "
                                  "(cluster bootstrap); holds above 0", estimate=iv.estimate,
                           fit_range=list(r.fit_range), **table)


def alpha_agrees(sliding: Curves, paper_alpha: float, *, tolerance: float = PAPER_TOLERANCE,
                 report: AssumptionReport | None = None, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> Verdict:
    """Equivalence with a published exponent: holds when the whole alpha_TV interval lies within
    paper_alpha (1 +- tolerance), fails when it lies wholly outside, inconclusive otherwise (a wide
    interval never "agrees")."""
    r = _report(sliding, report, _boot(n_boot, level, seed))
    return _within("alpha_paper", r.alpha, paper_alpha, tolerance,
                   f"alpha_TV on budgets {r.fit_range[0]:g}..{r.fit_range[1]:g} against the paper's {paper_alpha:g}",
                   paper=paper_alpha, relative_tolerance=tolerance, fit_range=list(r.fit_range))


def same_positions(reindexed: Curves, preserved: Curves, fit_range: tuple[float, float], *, n_boot: int = 1000,
                   level: float = 0.95, seed: int = 0) -> Verdict:
    """"The decay is not a position artefact": alpha(re-indexed) / alpha(preserved) within 10% of 1.
    When every per-document TV differs by less than IDENTITY_TOLERANCE the two are the same
    computation (a rotary model with a contiguous window and no BOS: shifting every position by a
    constant leaves every relative position unchanged); numbers["identity"] is then True and the
    verdict checks the engine, it is not evidence about the model."""
    gap = float(np.max(np.abs(reindexed.panel("tv") - preserved.panel("tv"))))
    ratio = exponent_ratio(reindexed, preserved, fit_range, n_boot=n_boot, level=level, seed=seed)
    identity = gap < IDENTITY_TOLERANCE
    v = _within("position_ablation", ratio, 1.0, EXPONENT_TOLERANCE, "alpha re-indexed / alpha preserved",
                max_document_difference=gap, identity=identity, fit_range=list(fit_range))
    if identity:
        return Verdict(v.claim, v.outcome, f"identity by construction (every document's TV differs by {gap:.2g} < "
                       f"{IDENTITY_TOLERANCE:g}): an engine check, not evidence; {v.reason}", v.interval, v.numbers)
    return v


def kl_doubling(sliding: Curves, *, report: AssumptionReport | None = None, n_boot: int = 1000,
                level: float = 0.95, seed: int = 0) -> Verdict:
    """The checker's KL verdict (alpha_KL / alpha_TV within 10% of 2 and neither exponent bending),
    with REG's verdict beside it: REG and the sandwich are why the ratio should be 2."""
    r = _report(sliding, report, _boot(n_boot, level, seed))
    kl, reg = r.verdict("KL"), r.verdict("REG")
    return Verdict("kl_doubling", kl.outcome, f"{kl.reason}; REG {reg.outcome}", kl.interval,
                   {**kl.numbers, "estimate": kl.numbers.get("ratio"), "REG": reg.outcome,
                    "claimed": (2 * (1 - EXPONENT_TOLERANCE), 2 * (1 + EXPONENT_TOLERANCE)),
                    "fit_range": list(r.fit_range), "mu": sliding.mu})


def sink_fit_range(sink: Curves, fit_range: tuple[float, float], n_sink: int) -> tuple[float, float]:
    """The sliding window's fit range, raised to twice the sinks where it starts below (sink+recent
    with a budget <= 2 n_sink keeps mostly sinks: a different policy)."""
    above = sink.windows[sink.windows >= 2 * n_sink]
    low = max(fit_range[0], float(above.min())) if above.size else np.inf
    if low >= fit_range[1]:
        raise ValueError(f"no budgets above twice the {n_sink} sinks inside the fit range")
    return low, fit_range[1]


def sink_recovery(sink: Curves, sliding: Curves, n_sink: int, fit_range: tuple[float, float], *,
                  n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Verdict:
    """alpha_KL(sink+recent) / (2 alpha_TV(sliding)) within 10% of 1, on `fit_range` raised above
    twice the sinks."""
    above_sinks = sink_fit_range(sink, fit_range, n_sink)
    ratio = exponent_ratio(sink, sliding, above_sinks, top_name="kl", bottom_name="tv", scale=2.0, n_boot=n_boot,
                           level=level, seed=seed)
    return _within("sink_recovery", ratio, 1.0, EXPONENT_TOLERANCE, "alpha_KL(sink) / (2 alpha_TV)",
                   fit_range=list(above_sinks))


def _ratio_at(top: np.ndarray, bottom: np.ndarray, boot: dict[str, Any]) -> Interval:
    """E top / E bottom over paired resamples of the documents (one budget's column each)."""
    return cluster_bootstrap(top.shape[0], lambda rows: resampled_means(top[:, None], rows)[:, 0]
                             / resampled_means(bottom[:, None], rows)[:, 0], **boot)


def recency(random: Curves, sliding: Curves, than: float, *, name: str = "kl", large_budget: float | None = None,
            claim: str = "recency", n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Verdict:
    """"The window beats random retention by more than `than` at equal budget": the paired ratio
    E D(random) / E D(sliding) of distortion `name` at the largest shared budget. With
    `large_budget`, a claim the paper makes at large budgets: a grid whose largest budget is
    below it gives "inconclusive", with the budget at which the ratio would reach `than`,
    extrapolated along the least-squares log-log line of the ratio over the upper half of the
    budgets (inf on resamples where it does not grow)."""
    boot = _boot(n_boot, level, seed)
    p = pair(sliding, random, name)
    w = p.windows
    by_budget = [{"budget": float(b), name: _ratio_at(p.contender[:, j], p.reference[:, j], boot).to_dict()}
                 for j, b in enumerate(w)]
    top = _ratio_at(p.contender[:, -1], p.reference[:, -1], boot)
    what = f"E {name}(random) / E {name}(sliding) at budget {w[-1]:g}"
    numbers: dict[str, Any] = {"by_budget": by_budget, "budget": float(w[-1])}
    if large_budget is None or w[-1] >= large_budget:
        return decide_interval(claim, top.low, top.high, holds_within=(than, np.inf),
                               reason=f"{what} = {top.estimate:.4g} (paired bootstrap); holds above {than:g}",
                               estimate=top.estimate, **numbers)
    reach = _budget_reaching(p.contender, p.reference, w, than, boot)
    numbers.update(estimate=top.estimate, reach_budget=reach)
    return Verdict(claim, INCONCLUSIVE, f"not measured at a large budget: the largest is {w[-1]:g} < {large_budget:g} "
                   f"tokens; there {what} = {top.estimate:.4g} [{top.low:.4g}, {top.high:.4g}]; extrapolated, it "
                   f"would reach {than:g} at budget {reach['estimate']:.3g} [{reach['low']:.3g}, {reach['high']:.3g}]",
                   (top.low, top.high), numbers)


def _budget_reaching(top: np.ndarray, bottom: np.ndarray, w: np.ndarray, than: float,
                     boot: dict[str, Any]) -> dict[str, float]:
    """The budget where the log-log line of E top / E bottom over the upper half of the budgets
    reaches `than`, on the data and on each resample; inf where the ratio does not grow."""
    low, high = asymptotic_range(w)
    keep = in_fit_range(w, (low, high))

    def reach(rows):
        C, alpha = fitted_laws(w[keep], resampled_means(top[:, keep], rows) / resampled_means(bottom[:, keep], rows))
        growth = -alpha  # the ratio grows as C w^growth
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(growth > 0, (than / C) ** (1 / np.where(growth > 0, growth, 1.0)), np.inf)

    rng = np.random.default_rng(boot["seed"])
    n = top.shape[0]
    dist = reach(rng.integers(0, n, size=(boot["n_boot"], n)))
    tail = (1 - boot["level"]) / 2
    lo, hi = np.quantile(dist, [tail, 1 - tail], method="inverted_cdf")
    return {"estimate": float(reach(np.arange(n)[None])[0]), "low": float(lo), "high": float(hi),
            "from": float(low), "to": float(high)}


def bound_prediction(sliding: Curves, fit_range: tuple[float, float], *, n_boot: int = 1000, level: float = 0.95,
                     seed: int = 0) -> Verdict:
    """"The law predicts the window on held-out text, beyond the budgets it was fitted on": fit the
    power law on a seeded half of the documents over the fit range without its top budget, predict
    the window (C / eps)^(1/alpha) for eps = sqrt(delta(w_top-1) delta(w_top)) of all documents
    (a distortion reached between the two largest budgets: half a step of extrapolation), and
    divide by the window the other half needs (`memory_to_reach`, log-log interpolation of its mean
    curve); both halves resampled on every draw. Holds within a factor PREDICTION_FACTOR."""
    n = sliding.n_samples
    order = np.random.default_rng(seed).permutation(n)
    fit_half, test_half = order[: n // 2], order[n // 2 :]
    w = sliding.windows
    keep = in_fit_range(w, fit_range) & (w < w[-1])
    if keep.sum() < 2:
        raise ValueError(f"the fit range {fit_range[0]:g}..{fit_range[1]:g} holds fewer than 2 budgets below the top")
    mean = sliding.mean("tv")
    eps = float(np.sqrt(mean[-2] * mean[-1]))
    tv = sliding.panel("tv")

    def ratio(a_rows: np.ndarray, b_rows: np.ndarray) -> np.ndarray:
        C, alpha = fitted_laws(w[keep], resampled_means(tv[:, keep], a_rows))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (C / eps) ** (1 / alpha) / memory_to_reach(w, w, resampled_means(tv, b_rows), eps)

    draws = np.random.default_rng(seed)
    dist = ratio(fit_half[draws.integers(0, fit_half.size, (n_boot, fit_half.size))],
                 test_half[draws.integers(0, test_half.size, (n_boot, test_half.size))])
    finite = dist[np.isfinite(dist)]
    if finite.size < n_boot // 2:
        return Verdict("bound_prediction", INCONCLUSIVE, f"the held-out half rarely reaches eps = {eps:.3g} inside "
                       "the budgets: no window to compare with", None, {"eps": eps})
    tail = (1 - level) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    estimate = float(ratio(fit_half[None], test_half[None])[0])
    fitted = (float(w[keep][0]), float(w[keep][-1]))
    return decide_interval("bound_prediction", float(low), float(high),
                           holds_within=(1 / PREDICTION_FACTOR, PREDICTION_FACTOR),
                           reason=f"predicted / needed window for TV eps = {eps:.3g} (law fitted on budgets "
                                  f"{fitted[0]:g}..{fitted[1]:g} of {fit_half.size} documents, tested on the other "
                                  f"{test_half.size}) = {estimate:.3g}; holds within a factor {PREDICTION_FACTOR:g}",
                           estimate=estimate, eps=eps, fit_range=list(fitted))


def theta_window(sliding: Curves, *, report: AssumptionReport | None = None, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> Verdict:
    """The window for TV eps (THETA_EPS) from the checker: its upper end, the PTS law C w^-alpha
    with C = max over the fit range of delta(w) w^alpha, exactly as `wzbounds check` prints it,
    and its interval at the smallest eps from the same construction on every resample. No window
    unless PTS holds. The band's lower end needs BR_TV, the Bayes-risk gap of the source, which a
    real LM does not give: the verdict is inconclusive when PTS holds, fails when PTS fails."""
    boot = _boot(n_boot, level, seed)
    r = _report(sliding, report, boot)
    pts = r.verdict("PTS")
    eps = np.asarray(THETA_EPS, dtype=np.float64)
    if pts.outcome != HOLDS or r.band_upper is None:
        outcome = FAILS if pts.outcome == FAILS else INCONCLUSIVE
        return Verdict("theta_band", outcome, f"PTS {pts.outcome}: no power-law window is given ({pts.reason})",
                       None, {"eps": eps.tolist(), "fit_range": list(r.fit_range)})
    keep = in_fit_range(sliding.windows, r.fit_range)
    w, panel = sliding.windows[keep], sliding.panel("tv")[:, keep]

    def window_at(rows):
        means = resampled_means(panel, rows)
        alpha = fitted_exponents(w, means)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            C = np.max(means * w ** alpha[:, None], axis=1)
            return np.where(alpha > 0, np.maximum(r.fit_range[0], np.ceil((C / eps[-1]) ** (1 / alpha))), np.inf)

    iv = cluster_bootstrap(sliding.n_samples, window_at, **boot)
    upper = np.asarray(r.band_upper, dtype=np.float64)
    check = upper[-1]
    numbers = {"eps": eps.tolist(), "upper_windows": upper.tolist(), "C": pts.numbers["C"],
               "alpha": r.alpha.estimate, "estimate": float(check), "fit_range": list(r.fit_range)}
    return Verdict("theta_band", INCONCLUSIVE,
                   f"the upper end, the PTS law {pts.numbers['C']:.3g} w^-{r.alpha.estimate:.3f} on budgets "
                   f"{r.fit_range[0]:g}..{r.fit_range[1]:g}, gives a window of {float(check):.6g} tokens for TV eps = "
                   f"{eps[-1]:g}, interval [{iv.low:.4g}, {iv.high:.4g}]; the lower end rests on BR_TV for suffix-only "
                   "decoders, which needs the Bayes-risk gap of the source: not measurable on a real LM, so the "
                   "two-sided band is not decided here", (iv.low, iv.high), numbers)
