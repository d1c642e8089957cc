"""The seed paper's claims on a real model, each decided from the interval of the quantity it is about.

Every claim about the sliding-window curve itself (power law, exponents, REG,
the KL sandwich) is computed by wzbounds (`wzbounds.assumptions`,
`wzbounds.fit`) from `Curves`; this module states the real-model claims on top
(position ablation, policies at equal budget, propagating caches, held-out
prediction) and decides each one the same way, with the one verdict type,
`wzbounds.Verdict`: holds / fails / inconclusive, with the interval it rests
on and the reason.

Intervals are paired cluster bootstraps over documents (one sample per
prefix): every panel of a claim is resampled with the same documents, and
every exponent is refitted on every resample. Exponents are fitted on a fit
range fixed by the protocol before measuring (`fit_range`): the upper half,
on the log scale, of the budgets, above twice the sinks for sink+recent.
With fewer than `MIN_DOCUMENTS` documents every claim is inconclusive: a
percentile bootstrap over a handful of clusters is too narrow to trust.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from wzbounds.assumptions import EXPONENT_TOLERANCE, check_assumptions
from wzbounds.claims import faster_decay
from wzbounds.curves import Curves
from wzbounds.fit import Interval, asymptotic_range, cluster_bootstrap, fitted_exponents, fitted_laws, resampled_means
from wzbounds.memory import GIB, KVGeometry
from wzbounds.ranges import local_slopes, range_exponents
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict, decide_interval

MIN_DOCUMENTS = 8
FACTOR = 2.0  # bound_prediction: the predicted window within this factor of the one needed
TWO_ORDERS = 100.0
PAPER = {
    "model": "Qwen2.5-0.5B",
    "alpha_tv": {"natural": 0.44, "code": 0.38},
    "alpha_kl_over_tv": 2.00,
    "recency_over_random": 100.0,
}
STATEMENTS = {
    "power_law": "delta(w) decays as a power law, not geometrically (PTS): the power law extrapolates better",
    "alpha_tv": "delta(w) ~ C w^-alpha with alpha > 0 (suffix-only truncation sensitivity decays polynomially)",
    "position_ablation": "the decay is not a position artefact: re-indexed positions give the preserved exponent "
                         "(ratio within 10% of 1)",
    "kl_doubling": "under REG the smoothed KL decays with twice TV's exponent (alpha_KL / alpha_TV within 10% of 2)",
    "sink_recovery": "sink+recent's KL exponent recovers 2 alpha_TV (ratio within 10% of 1, budgets above "
                     "twice the sinks)",
    "recency_vs_random": "the sliding window beats random-K at equal budget (KL_mu ratio > 1 at the largest budget)",
    "recency_two_orders": "by two orders of magnitude at large budgets (KL_mu ratio >= 100 at the largest budget)",
    "bound_prediction": "the window the law fitted on half of the documents predicts for eps is within a factor 2 "
                        "of the window the other half needs",
    "theta_band": "suffix-only policies need and suffice with a window Theta(eps^(-1/alpha)) for TV eps",
}


@dataclass(frozen=True)
class Finding:
    """One claim decided on one model and domain: the verdict, the statement, the fit range."""

    domain: str
    statement: str
    verdict: Verdict
    fit_range: tuple[float, float] | None
    paper: Any = None

    @property
    def name(self) -> str:
        return self.verdict.claim

    @property
    def outcome(self) -> str:
        return self.verdict.outcome

    def to_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {"name": v.claim, "domain": self.domain, "claim": self.statement, "verdict": v.outcome,
                "interval": None if v.interval is None else list(v.interval),
                "fit_range": None if self.fit_range is None else list(self.fit_range), "reason": v.reason,
                "numbers": dict(v.numbers), "paper": self.paper}


def fit_range(budgets, floor: float = 1.0) -> tuple[float, float]:
    """The protocol's fixed exponent fit range: the upper half, on the log scale, of the budgets >= floor."""
    b = np.asarray(sorted(budgets), dtype=float)
    b = b[b >= floor]
    if b.size < 2:
        raise ValueError(f"fewer than 2 budgets at or above {floor:g}: no exponent can be fitted")
    return asymptotic_range(b)


def _columns(curves: Curves, rng: tuple[float, float]) -> np.ndarray:
    return (curves.windows >= rng[0] * (1 - 1e-12)) & (curves.windows <= rng[1] * (1 + 1e-12))


def _exponent_ratio(top: Curves, top_name: str, bottom: Curves, bottom_name: str, rng, boot: dict,
                    scale: float = 1.0) -> Interval:
    """alpha(top) / (scale alpha(bottom)), both refitted on every paired resample of the documents."""
    kt, kb = _columns(top, rng), _columns(bottom, rng)
    wt, wb = top.windows[kt], bottom.windows[kb]
    pt, pb = top.panel(top_name)[:, kt], bottom.panel(bottom_name)[:, kb]

    def stat(rows):
        with np.errstate(divide="ignore", invalid="ignore"):
            return fitted_exponents(wt, resampled_means(pt, rows)) / (scale * fitted_exponents(wb, resampled_means(pb, rows)))

    return cluster_bootstrap(top.n_samples, stat, **boot)


def _mean_ratio(top: np.ndarray, bottom: np.ndarray, boot: dict) -> Interval:
    """E top / E bottom over paired resamples of the documents (one column)."""
    return cluster_bootstrap(top.shape[0], lambda rows: resampled_means(top[:, None], rows)[:, 0]
                             / resampled_means(bottom[:, None], rows)[:, 0], **boot)


def _renamed(claim: str, v: Verdict, **numbers: Any) -> Verdict:
    return Verdict(claim, v.outcome, v.reason, v.interval, {**v.numbers, **numbers})


def _greater(claim: str, iv: Interval, than: float, what: str, **numbers: Any) -> Verdict:
    return decide_interval(claim, iv.low, iv.high, holds_within=(than, np.inf),
                           reason=f"{what} = {iv.estimate:.4g} (paired bootstrap); holds above {than:g}",
                           estimate=iv.estimate, **numbers)


def _within(claim: str, iv: Interval, target: float, tolerance: float, what: str, **numbers: Any) -> Verdict:
    band = (target * (1 - tolerance), target * (1 + tolerance))
    return decide_interval(claim, iv.low, iv.high, holds_within=band,
                           reason=f"{what} = {iv.estimate:.4g} (paired bootstrap); holds within {tolerance:.0%} "
                                  f"of {target:g}", estimate=iv.estimate, **numbers)


@dataclass(frozen=True)
class DomainData:
    """The curves of one domain, all on the same documents (the pairing of every bootstrap)."""

    domain: str
    sliding: Curves  # recompute, positions preserved, KL_mu at the middle mu
    reindexed: Curves | None
    by_mu: dict[float, Curves]  # sliding recompute at every mu
    sink: Curves | None
    n_sink: int
    random: Curves | None
    propagating: dict[str, Curves]  # "sink-evict", "sliding-online", ...


def decide(data: DomainData, kv: KVGeometry, *, context: int = 0, n_boot: int = 1000,
           seed: int = 0) -> list[Finding]:
    """Every claim on one domain's curves; a claim that cannot be computed is inconclusive, with why."""
    out = []
    for name, statement, rng, thunk in _claims(data, kv, context, {"n_boot": n_boot, "seed": seed}):
        if data.sliding.n_samples < MIN_DOCUMENTS:
            v = Verdict(name, INCONCLUSIVE, f"only {data.sliding.n_samples} documents: at least {MIN_DOCUMENTS} "
                        "are needed for a bootstrap interval over documents")
        else:
            try:
                v = thunk()
            except ValueError as exc:
                v = Verdict(name, INCONCLUSIVE, f"could not be computed: {exc}")
        out.append(Finding(data.domain, statement, v, rng, _paper(name, data.domain)))
    return out


def _paper(name: str, domain: str) -> Any:
    return {"alpha_tv": PAPER["alpha_tv"].get(domain), "kl_doubling": PAPER["alpha_kl_over_tv"],
            "recency_two_orders": PAPER["recency_over_random"]}.get(name)


def _claims(data: DomainData, kv: KVGeometry, context: int, boot: dict
            ) -> Iterator[tuple[str, str, tuple[float, float] | None, Callable[[], Verdict]]]:
    """(name, statement, fit range, thunk) for each claim, in report order."""
    pres = data.sliding
    rng = fit_range(pres.windows)
    cache: dict[str, Any] = {}

    def assumptions():
        if "report" not in cache:
            cache["report"] = check_assumptions(pres, fit_range=rng, **boot)
        return cache["report"]

    def alpha():
        if "alpha" not in cache:
            from wzbounds.fit import bend_interval, exponent_interval

            cache["alpha"] = exponent_interval(pres, "tv", fit_range=rng, **boot)
            cache["bend"] = bend_interval(pres, "tv", fit_range=rng, **boot)
        return cache["alpha"]

    def sink_range() -> tuple[float, float]:
        """The sliding window's range, raised to twice the sinks where it starts below (sink+recent
        with k <= 2 n_sink keeps mostly sinks: a different policy)."""
        above = data.sink.windows[data.sink.windows >= 2 * data.n_sink]
        low = max(rng[0], float(above.min())) if above.size else np.inf
        if low >= rng[1]:
            raise ValueError(f"no budgets above twice the {data.n_sink} sinks inside the fit range")
        return low, rng[1]

    def power_law():
        return _renamed("power_law", assumptions().verdict("PTS"))

    def alpha_tv():
        iv = alpha()
        bend = cache["bend"]
        return _greater("alpha_tv", iv, 0.0, "alpha_TV (positions preserved)",
                        bend=bend.to_dict(), local_slopes=[r.to_dict() for r in local_slopes(pres, **boot)],
                        fit_ranges=[r.to_dict() for r in range_exponents(pres, **boot)])

    def position_ablation():
        if data.reindexed is None:
            raise ValueError("positions were not measured re-indexed")
        ratio = _exponent_ratio(data.reindexed, "tv", pres, "tv", rng, boot)
        gap = float(np.max(np.abs(data.reindexed.mean("tv") - pres.mean("tv"))))
        return _within("position_ablation", ratio, 1.0, EXPONENT_TOLERANCE, "alpha re-indexed / alpha preserved",
                       max_mean_difference=gap)

    def kl_doubling():
        """Decided on the paired ratio alpha_KL / alpha_TV when REG holds; R(w), kappa_mu / E TV^2 and
        the exponents' bends are shown beside it (a bend is PTS's business, not this claim's)."""
        report = assumptions()
        reg = report.verdict("REG")
        tv = pres.panel("tv")
        ratios = {mu: _exponent_ratio(c, "kl", c, "tv", rng, boot) for mu, c in data.by_mu.items()}
        mid = sorted(ratios)[len(ratios) // 2]
        numbers = {"ratio_by_mu": {f"{mu:g}": iv.to_dict() for mu, iv in ratios.items()}, "mu": mid,
                   "R_by_window": ((tv**2).mean(0) / tv.mean(0) ** 2).tolist(),
                   "kappa_over_tv2_by_window": (pres.mean("kl") / (tv**2).mean(0)).tolist(),
                   "windows": pres.windows.tolist(), "REG": reg.reason,
                   "bend_kl": report.verdict("KL").numbers.get("bend_kl"),
                   "bend_tv": report.verdict("KL").numbers.get("bend_tv")}
        verdict = _within("kl_doubling", ratios[mid], 2.0, EXPONENT_TOLERANCE,
                          f"alpha_KL / alpha_TV at mu = {mid:g}", **numbers)
        if reg.outcome == HOLDS:
            return verdict
        why = ("REG fails: R(w) = E TV^2 / (E TV)^2 grows, so the sandwich gives only alpha_KL <= 2 alpha_TV"
               if reg.outcome == FAILS else "REG is not established on these curves")
        return Verdict("kl_doubling", INCONCLUSIVE, f"{why}; the finite-range ratio is shown, not decided "
                       f"({verdict.reason})", verdict.interval, verdict.numbers)

    def sink_recovery():
        if data.sink is None:
            raise ValueError("sink+recent was not measured")
        srng = sink_range()
        ratio = _exponent_ratio(data.sink, "kl", pres, "tv", srng, boot, scale=2.0)
        return _within("sink_recovery", ratio, 1.0, EXPONENT_TOLERANCE, "alpha_KL(sink) / (2 alpha_TV)",
                       fit_range=list(srng))

    def recency(claim: str, than: float):
        def decide_it():
            if data.random is None:
                raise ValueError("random-K was not measured")
            by_budget = []
            for j, w in enumerate(pres.windows):
                by_budget.append({"budget": float(w),
                                  "tv": _mean_ratio(data.random.panel("tv")[:, j], pres.panel("tv")[:, j], boot).to_dict(),
                                  "kl": _mean_ratio(data.random.panel("kl")[:, j], pres.panel("kl")[:, j], boot).to_dict()})
            last = _mean_ratio(data.random.panel("kl")[:, -1], pres.panel("kl")[:, -1], boot)
            return _greater(claim, last, than, f"E KL_mu(random) / E KL_mu(sliding) at budget {pres.windows[-1]:g}",
                            by_budget=by_budget)
        return decide_it

    def bound_prediction():
        return _prediction(pres, rng, boot)

    def theta_band():
        pts = assumptions().verdict("PTS")
        keep = _columns(pres, rng)
        w, panel = pres.windows[keep], pres.panel("tv")[:, keep]
        eps = np.array([0.1, 0.03, 0.01])

        def window_at(rows, e=eps[-1]):
            C, a = fitted_laws(w, resampled_means(panel, rows))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return (C / e) ** (1 / a)

        iv = cluster_bootstrap(pres.n_samples, window_at, **boot)
        C, a = (float(v[0]) for v in fitted_laws(w, panel.mean(0)[None]))
        windows = (C / eps) ** (1 / a)
        gib = kv.cache_bytes(windows) / GIB
        numbers = {"eps": eps.tolist(), "upper_windows": windows.tolist(), "upper_gib": gib.tolist(), "C": C,
                   "alpha": a, "context": context, "estimate": iv.estimate}
        if context and np.any(windows > context):
            numbers["flag"] = (f"windows beyond the model's context of {context} positions for eps <= "
                               f"{eps[windows > context].max():g}: the band there is extrapolation, not a cache size")
        where = f"window for TV eps = {eps[-1]:g}: {iv.estimate:.4g} tokens, interval [{iv.low:.4g}, {iv.high:.4g}]"
        if pts.outcome == FAILS:
            return Verdict("theta_band", FAILS, f"PTS fails: the power-law band does not apply ({pts.reason})",
                           (iv.low, iv.high), numbers)
        return Verdict("theta_band", INCONCLUSIVE,
                       f"the upper end, the fitted law's (C/eps)^(1/alpha) with C = {C:.3g}, alpha = {a:.3f} ({where}), "
                       f"rests on PTS ({pts.outcome}); the lower end rests on BR_TV for suffix-only decoders, which "
                       "needs the Bayes-risk gap of the source: not measurable on a real LM, so the two-sided band is "
                       "not decided here", (iv.low, iv.high), numbers)

    yield "power_law", STATEMENTS["power_law"], rng, power_law
    yield "alpha_tv", STATEMENTS["alpha_tv"], rng, alpha_tv
    yield "position_ablation", STATEMENTS["position_ablation"], rng, position_ablation
    yield "kl_doubling", STATEMENTS["kl_doubling"], rng, kl_doubling
    srng = sink_range() if data.sink is not None else None
    yield "sink_recovery", STATEMENTS["sink_recovery"], srng, sink_recovery
    top = (float(pres.windows[-1]), float(pres.windows[-1]))  # decided at the largest budget, not fitted
    yield "recency_vs_random", STATEMENTS["recency_vs_random"], top, recency("recency_vs_random", 1.0)
    yield "recency_two_orders", STATEMENTS["recency_two_orders"], top, recency("recency_two_orders", TWO_ORDERS)
    yield "bound_prediction", STATEMENTS["bound_prediction"], rng, bound_prediction
    yield "theta_band", STATEMENTS["theta_band"], rng, theta_band
    grid = asymptotic_range(pres.windows)
    for label, curves in data.propagating.items():
        name = f"propagating_{label.replace('-', '_')}"
        statement = (f"{label} decays faster than the suffix-only window: a larger exponent on two decades of "
                     "budgets, and better at the top one (wzbounds.claims.faster_decay)")
        yield name, statement, grid, (lambda c=curves, n=name: _renamed(n, faster_decay(pres, c, **boot)))


def _prediction(pres: Curves, rng: tuple[float, float], boot: dict) -> Verdict:
    """Fit the law on a seeded half of the documents, predict the window for eps (the distortion
    reached at the second-largest budget), and compare it with the window the other half needs
    (log-log interpolation of its mean curve); both halves resampled on every bootstrap draw."""
    n = pres.n_samples
    order = np.random.default_rng(boot["seed"]).permutation(n)
    fit_half, test_half = order[: n // 2], order[n // 2 :]
    keep = _columns(pres, rng)
    w = pres.windows
    eps = float(pres.mean("tv")[-2])
    tv = pres.panel("tv")
    logw = np.log(w)

    def needed(means: np.ndarray) -> np.ndarray:
        """The window where each mean curve first reaches eps (log-log interpolation), nan if never."""
        below = means <= eps
        first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
        out = np.full(means.shape[0], np.nan)
        ok = first > 0
        i = first[ok]
        r = np.arange(means.shape[0])[ok]
        y0, y1 = np.log(means[r, i - 1]), np.log(means[r, i])
        x0, x1 = logw[i - 1], logw[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[ok] = np.exp(x0 + (np.log(eps) - y0) * (x1 - x0) / (y1 - y0))
        out[first == 0] = w[0]
        return out

    def ratio(a_rows: np.ndarray, b_rows: np.ndarray) -> np.ndarray:
        C, alpha = fitted_laws(w[keep], resampled_means(tv[:, keep], a_rows))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (C / eps) ** (1 / alpha) / needed(resampled_means(tv, b_rows))

    draws = np.random.default_rng(boot["seed"])
    n_boot = boot["n_boot"]
    dist = ratio(fit_half[draws.integers(0, fit_half.size, (n_boot, fit_half.size))],
                 test_half[draws.integers(0, test_half.size, (n_boot, test_half.size))])
    finite = dist[np.isfinite(dist)]
    if finite.size < n_boot // 2:
        raise ValueError(f"the held-out half rarely reaches eps = {eps:.3g} within the budgets")
    low, high = np.quantile(finite, [0.025, 0.975])
    iv = Interval(float(ratio(fit_half[None], test_half[None])[0]), float(low), float(high),
                  float(finite.std(ddof=1)), 0.95, finite)
    return decide_interval("bound_prediction", iv.low, iv.high, holds_within=(1 / FACTOR, FACTOR),
                           reason=f"predicted / needed window for TV eps = {eps:.3g} (fit on {fit_half.size} "
                                  f"documents, tested on {test_half.size}) = {iv.estimate:.3g}; holds within a "
                                  f"factor {FACTOR:g}", estimate=iv.estimate, eps=eps)
