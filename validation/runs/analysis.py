"""What `validate` decides from its measurements: each domain's curves, the findings, the flags, and
the fits its figures draw (computed here, once, so the report only renders).

Policies take their roles by declaration (validation.policies.base), never by name:
the reference is the policy declaring `suffix_only`, the sink+recent policy the one
declaring `sinks` with a head of exactly those sinks, the random control the one
declaring `uniform`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from validation.policies.base import Policy
from validation.runs.claims import DomainData, Finding, decide
from validation.runs.protocol import Protocol, curves, documents
from wzbounds.curves import Curves
from wzbounds.fit import Interval, LawComparison, compare_laws, exponent_interval
from wzbounds.verdict import INCONCLUSIVE, Verdict

NEAR_ONE = 0.9  # sanity flag: mean TV still above this at the middle budget


def _is_sink_recent(policy: Policy) -> bool:
    return policy.sinks > 0 and policy.anchored_head() == tuple(range(policy.sinks))


def middle_mu(protocol: Protocol) -> float:
    """The KL smoothing the claims read: the middle of the measured mus."""
    return sorted(protocol.mus)[len(protocol.mus) // 2]


def domain_data(tables: Mapping, parts: Mapping[str, Protocol], domain: str) -> DomainData:
    """The curves every claim of one domain reads, checked to be on the same documents."""
    main = parts["main"]
    ref = main.reference()
    t = tables.get((domain, "main")) or {}
    mu = middle_mu(main)
    sliding = curves(t, ref, "recompute", "preserved", mu=mu)
    docs = documents(t, ref, "recompute", "preserved")

    def paired(table, spec, mode, positions="preserved", mu=mu):
        """The curves of (spec, mode) if measured on exactly the reference's documents, else None."""
        if not table or "policy" not in table or documents(table, spec, mode, positions) != docs:
            return None
        return curves(table, spec, mode, positions, mu=mu)

    sink, random = main.role(_is_sink_recent), main.role(lambda p: p.uniform)
    propagating = {}
    for spec in main.policies:
        if "evict" in main.modes:
            propagating[f"{spec}-evict"] = paired(t, spec, "evict")
    online = tables.get((domain, "online"))
    if "online" in parts:
        for spec in parts["online"].policies:
            propagating[f"{spec}-online"] = paired(online, spec, "online")
    return DomainData(
        domain, sliding,
        paired(t, ref, "recompute", "reindexed") if "reindexed" in main.positions else None,
        paired(t, sink, "recompute") if sink else None, main.policy(sink).sinks if sink else 0,
        paired(t, random, "recompute") if random else None,
        {k: v for k, v in propagating.items() if v is not None},
    )


def analyse(tables: Mapping, parts: Mapping[str, Protocol], kv, domains, n_boot: int,
            context: int = 0) -> list[Finding]:
    """Every claim, per domain. A domain whose sliding-window curve is missing (a failed part) gets
    one inconclusive finding saying why; the other domains are decided as usual."""
    findings = []
    for domain in domains:
        try:
            data = domain_data(tables, parts, domain)
        except ValueError as exc:
            findings.append(Finding(domain, "the claims of this domain", Verdict(
                "all_claims", INCONCLUSIVE, f"the sliding-window curve could not be built: {exc}")))
            continue
        findings.extend(decide(data, kv, context=context, n_boot=n_boot))
    return findings


def sanity_flags(tables: Mapping, parts: Mapping[str, Protocol], findings: list[Finding],
                 window: int | None) -> list[str]:
    """Plain warnings a reader should see before the verdicts."""
    flags = []
    main = parts["main"]
    ref = main.role(lambda p: p.suffix_only)
    for (domain, part), t in tables.items():
        if part != "main" or not t or "policy" not in t:
            continue
        sel = (t["policy"] == ref) & (t["mode"] == "recompute") & (t["positions"] == "preserved")
        budgets = np.unique(t["budget"][sel])
        if budgets.size:
            mid = budgets[budgets.size // 2]
            mean = float(t["tv"][sel & (t["budget"] == mid)].mean())
            if mean > NEAR_ONE:
                flags.append(f"{domain}: mean TV is still {mean:.2f} at budget {mid}: the model barely uses the "
                             "window there (a missing BOS, a broken tokenizer or a model that ignores context?)")
    for f in findings:
        if "flag" in f.verdict.numbers:
            flags.append(f"{f.domain}: Theta band: {f.verdict.numbers['flag']}")
    if window is not None and max(main.budgets) > window:
        flags.append(f"budgets up to {max(main.budgets)} exceed the model's sliding window of {window}: its sliding "
                     "layers see at most that many positions whatever the budget")
    return flags


@dataclass(frozen=True)
class DecayPanel:
    """One domain's decay figure: the reference's curves (recompute, positions preserved, KL at the
    middle mu), the power/exponential comparison, and the alpha intervals the alpha_tv row reports
    (TV) and that the same fit range gives for KL (the same number of resamples)."""

    domain: str
    sliding: Curves
    reindexed: Curves | None
    comparison: LawComparison
    fit_range: tuple[float, float]
    alpha_tv: Interval
    alpha_kl: Interval


@dataclass(frozen=True)
class CurveLine:
    """One measured mean-TV curve of the policies figure."""

    spec: str
    mode: str
    curve: Curves


@dataclass(frozen=True)
class Figures:
    """Everything the report's figures draw, per domain; `left_out`: figure file -> why it is not drawn."""

    decay: tuple[DecayPanel, ...]
    by_mu: Mapping[str, tuple[Curves, ...]]  # the reference at every measured mu, in increasing mu
    policies: Mapping[str, tuple[CurveLine, ...]]
    left_out: Mapping[str, str]


def figures(tables: Mapping, parts: Mapping[str, Protocol], findings: list[Finding], domains,
            n_boot: int) -> Figures:
    """The data of every figure; a figure whose data a failed part lacks is left out, with why."""
    left_out: dict[str, str] = {}

    def attempt(name: str, build: Callable):
        try:
            return build()
        except (ValueError, KeyError, StopIteration) as exc:
            left_out[name] = f"{type(exc).__name__}: {exc}"
            return None

    decay = attempt("decay.png", lambda: tuple(_decay(tables, parts["main"], findings, d, n_boot) for d in domains))
    by_mu = attempt("kl_vs_tv2.png", lambda: {d: _by_mu(tables, parts["main"], d) for d in domains})
    lines = attempt("policies.png", lambda: {d: _lines(tables, parts, d) for d in domains})
    return Figures(decay or (), by_mu or {}, lines or {}, left_out)


def _decay(tables: Mapping, main: Protocol, findings: list[Finding], domain: str, n_boot: int) -> DecayPanel:
    ref, mu = main.reference(), middle_mu(main)
    c = curves(tables[(domain, "main")], ref, "recompute", "preserved", mu=mu)
    alpha = next(f.verdict for f in findings if f.name == "alpha_tv" and f.domain == domain)
    if alpha.interval is None or "fit_range" not in alpha.numbers:
        raise ValueError(f"no alpha_TV interval for {domain}: {alpha.reason}")
    fit_range = tuple(alpha.numbers["fit_range"])
    iv = Interval(alpha.numbers["estimate"], *alpha.interval, float("nan"), 0.95, np.empty(0))
    reindexed = (curves(tables[(domain, "main")], ref, "recompute", "reindexed", mu=mu)
                 if "reindexed" in main.positions else None)
    return DecayPanel(domain, c, reindexed, compare_laws(c.windows, c.mean("tv")), fit_range, iv,
                      exponent_interval(c, "kl", n_boot=n_boot, fit_range=fit_range))


def _by_mu(tables: Mapping, main: Protocol, domain: str) -> tuple[Curves, ...]:
    ref = main.reference()
    return tuple(curves(tables[(domain, "main")], ref, "recompute", "preserved", mu=mu) for mu in sorted(main.mus))


def _lines(tables: Mapping, parts: Mapping[str, Protocol], domain: str) -> tuple[CurveLine, ...]:
    main = parts["main"]
    t = tables[(domain, "main")]
    out = []
    for spec in main.policies:
        out.append(CurveLine(spec, "recompute", curves(t, spec, "recompute", "preserved", mu=None)))
        if "evict" in main.modes:
            out.append(CurveLine(spec, "evict", curves(t, spec, "evict", "preserved", mu=None)))
    online = tables.get((domain, "online"))
    if online and "online" in parts:
        out += [CurveLine(spec, "online", curves(online, spec, "online", "preserved", mu=None))
                for spec in parts["online"].policies]
    return tuple(out)
