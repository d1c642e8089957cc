"""The catalogue of the seed paper's claims on a real model: id, statement, rule, curves.

Every rule lives in `wzbounds.claims` (numpy only, tested without torch); this
module only says which claim is decided by which rule on which of a domain's
curves, and in what order the report lists them. The sliding-window claims
share one fit: `wzbounds.check_assumptions` on the sliding window's curves
(its fit range, PTS, KL rule and window), exactly what `wzbounds check` prints
on the same curves exported (`wzbounds export`).

Intervals are paired cluster bootstraps over documents (the sample is a
prefix; its targets are averaged): every panel of a claim is resampled with
the same documents. With fewer than `MIN_DOCUMENTS` documents every claim is
inconclusive: a percentile bootstrap over a handful of clusters is too narrow
to trust.

A claim is "evidence" about the model, or an "engine check" when it holds by
construction: re-indexed positions equal preserved ones for a rotary model
with a contiguous window and no BOS (`wzbounds.claims.same_positions`). The
report counts the two apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from wzbounds import claims as rules
from wzbounds.assumptions import AssumptionReport, check_assumptions
from wzbounds.curves import Curves
from wzbounds.memory import GIB, KVGeometry
from wzbounds.verdict import INCONCLUSIVE, MIN_SAMPLES, Verdict, documents_to_decide, too_few

MIN_DOCUMENTS = MIN_SAMPLES  # a sample of the claims layer is a document here
EVIDENCE, ENGINE_CHECK = "evidence", "engine check"


@dataclass(frozen=True)
class DomainData:
    """The curves of one domain, all on the same documents (the pairing of every bootstrap)."""

    domain: str
    sliding: Curves  # recompute, positions preserved, KL_mu at the middle mu
    reindexed: Curves | None
    sink: Curves | None
    n_sink: int
    random: Curves | None
    propagating: dict[str, Curves]  # "sink-evict", "sliding-online", ...


@dataclass(frozen=True)
class Finding:
    """One claim decided on one model and domain: the verdict, the statement, the kind."""

    domain: str
    statement: str
    verdict: Verdict
    kind: str = EVIDENCE
    paper: Any = None

    @property
    def name(self) -> str:
        return self.verdict.claim

    @property
    def outcome(self) -> str:
        return self.verdict.outcome

    def to_dict(self) -> dict[str, Any]:
        """The verdict's own serialisation (`Verdict.to_dict`) and where it was decided."""
        return {**self.verdict.to_dict(), "domain": self.domain, "statement": self.statement, "kind": self.kind,
                "paper": self.paper}


class _Inputs:
    """A domain's curves and the one checker report its sliding-window claims share."""

    def __init__(self, data: DomainData, kv: KVGeometry, context: int, boot: dict[str, Any]) -> None:
        self.data, self.kv, self.context, self.boot = data, kv, context, boot

    @cached_property
    def report(self) -> AssumptionReport:
        return check_assumptions(self.data.sliding, eps=rules.THETA_EPS, **self.boot)

    def need(self, field: str) -> Any:
        value = getattr(self.data, field)
        if value is None:
            raise ValueError(f"the {field} curves were not measured")
        return value


@dataclass(frozen=True)
class Claim:
    """A catalogue entry: the claim's id, its statement, and the rule deciding it on a domain's inputs."""

    id: str
    statement: str
    rule: Callable[[_Inputs], Verdict]


def _theta(x: _Inputs) -> Verdict:
    """theta_window, with the windows also in GiB of this model's KV cache."""
    v = rules.theta_window(x.data.sliding, report=x.report, **x.boot)
    if "upper_windows" not in v.numbers:
        return v
    windows = np.asarray(v.numbers["upper_windows"])
    numbers = {**v.numbers, "upper_gib": (x.kv.cache_bytes(windows) / GIB).tolist(), "context": x.context}
    if x.context and np.any(windows > x.context):
        eps = np.asarray(v.numbers["eps"])
        numbers["flag"] = (f"windows beyond the model's context of {x.context} positions for eps <= "
                           f"{eps[windows > x.context].max():g}: the band there is extrapolation, not a cache size")
    return Verdict(v.claim, v.outcome, v.reason, v.interval, numbers)


def _alpha_paper(x: _Inputs) -> Verdict:
    paper = rules.PAPER["alpha_tv"].get(x.data.domain)
    if paper is None:
        raise ValueError(f"the paper reports no alpha_TV for the domain {x.data.domain!r}")
    return rules.alpha_agrees(x.data.sliding, paper, report=x.report, **x.boot)


CATALOGUE: tuple[Claim, ...] = (
    Claim("power_law", "delta(w) decays as a power law (PTS): it extrapolates better than a geometric law and a "
          "stretched exponential, and its local exponent does not fall toward 0", lambda x: rules.power_law(x.data.sliding, report=x.report, **x.boot)),
    Claim("alpha_tv", "delta(w) ~ C w^-alpha with alpha > 0 on the fit range (the exponent by fit range beside it)",
          lambda x: rules.alpha_positive(x.data.sliding, report=x.report, **x.boot)),
    Claim("alpha_paper", f"alpha_TV agrees with the paper's value for this domain: the whole interval within "
          f"{rules.PAPER_TOLERANCE:.0%} of it (equivalence)", _alpha_paper),
    Claim("position_ablation", "the decay is not a position artefact: re-indexed positions give the preserved "
          "exponent (ratio within 10% of 1)",
          lambda x: rules.same_positions(x.need("reindexed"), x.data.sliding, x.report.fit_range, **x.boot)),
    Claim("kl_doubling", "the smoothed KL decays with twice TV's exponent (alpha_KL / alpha_TV within 10% of 2, "
          "neither bending), as REG and the sandwich predict",
          lambda x: rules.kl_doubling(x.data.sliding, report=x.report, **x.boot)),
    Claim("sink_recovery", "sink+recent's KL exponent recovers 2 alpha_TV (ratio within 10% of 1, budgets above "
          "twice the sinks)", lambda x: rules.sink_recovery(x.need("sink"), x.data.sliding, x.data.n_sink,
                                                            x.report.fit_range, **x.boot)),
    Claim("recency_vs_random", "the sliding window beats random-K at equal budget (KL_mu ratio > 1 at the largest "
          "budget)", lambda x: rules.recency(x.need("random"), x.data.sliding, 1.0, claim="recency_vs_random",
                                             **x.boot)),
    Claim("recency_two_orders", f"by two orders of magnitude at large budgets (KL_mu ratio >= 100 at a budget of "
          f"at least {rules.LARGE_BUDGET})",
          lambda x: rules.recency(x.need("random"), x.data.sliding, rules.TWO_ORDERS, large_budget=rules.LARGE_BUDGET,
                                  claim="recency_two_orders", **x.boot)),
    Claim("bound_prediction", "the window the law fitted on half of the documents, below the top budget, predicts "
          "for a distortion reached beyond them is within a factor 2 of the window the other half needs",
          lambda x: rules.bound_prediction(x.data.sliding, x.report.fit_range, **x.boot)),
    Claim("theta_band", "suffix-only policies need and suffice with a window Theta(eps^(-1/alpha)) for TV eps",
          _theta),
)


def decide(data: DomainData, kv: KVGeometry, *, context: int = 0, n_boot: int = 1000,
           seed: int = 0) -> list[Finding]:
    """Every claim of the catalogue, then one faster_decay claim per propagating curve, on one
    domain; a claim that cannot be computed is inconclusive, with why."""
    x = _Inputs(data, kv, context, {"n_boot": n_boot, "seed": seed})
    entries = list(CATALOGUE)
    for label, c in data.propagating.items():
        entries.append(Claim(f"propagating_{label.replace('-', '_')}",
                             f"{label} decays faster than the suffix-only window: a larger exponent on two decades "
                             "of budgets, and better at the top one (wzbounds.claims.faster_decay)",
                             lambda x, c=c: rules.faster_decay(x.data.sliding, c, **x.boot)))
    out = []
    for claim in entries:
        if claim.id == "alpha_paper" and data.domain not in rules.PAPER["alpha_tv"]:
            continue  # the paper has no value for a user's own texts
        few = too_few(data.sliding.n_samples)
        if few is not None:  # the claims layer's own rule, said in its own words
            v = Verdict(claim.id, INCONCLUSIVE, few)
        else:
            try:
                v = claim.rule(x)
            except ValueError as exc:
                v = Verdict(claim.id, INCONCLUSIVE, f"could not be computed: {exc}")
        needed = documents_to_decide(v, data.sliding.n_samples)
        v = Verdict(claim.id, v.outcome, v.reason, v.interval,
                    {**v.numbers, **({"documents_to_decide": needed} if needed else {})})
        kind = ENGINE_CHECK if v.numbers.get("identity") else EVIDENCE
        out.append(Finding(data.domain, claim.statement, v, kind, _paper(claim.id, data.domain)))
    return out


def _paper(name: str, domain: str) -> Any:
    return {"alpha_tv": rules.PAPER["alpha_tv"].get(domain), "alpha_paper": rules.PAPER["alpha_tv"].get(domain),
            "kl_doubling": rules.PAPER["alpha_kl_over_tv"],
            "recency_two_orders": rules.PAPER["recency_over_random"]}.get(name)
