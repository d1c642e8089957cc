"""`wzbounds validate`: measure a model on both domains, fit, derive, check, report.

Two presets:

    quick  4 prefixes of 512 tokens per domain, 8 targets each, budgets 1..128
           (at most a quarter of the context, so the finite context does not bend
           the curve); sliding (positions preserved and re-indexed), sink, random,
           heavy in recompute mode; sliding and sink in evict mode; online sliding
           and sink on 2 prefixes of 256 tokens at budgets 8 and 64. Under 10
           minutes on a 2-core CPU.
    full   the paper-scale protocol: 100 prefixes per domain, prefixes as long as
           the model's context (at most 8192 tokens), 32 targets, budgets to half
           the prefix; every policy and mode. For a GPU or a long CPU run.

Measurements go to OUT/measure/<domain>/<part>/ (resumable shards); the
report (report.md, report.html, report.json, PNG figures) to OUT/.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from validation.checks import (Check, alpha_check, band_check, kl_ratio_checks, law_check, policy_check,
                               prediction_check, propagation_check, sink_check)
from validation.protocol import Protocol, curves, run
from validation.store import atomic_write

DOMAINS = ("natural", "code")


def presets(preset: str, model: str, max_positions: int, dtype: str = "float32") -> dict[str, Protocol]:
    """The protocols of a preset, by part name ("main", "online")."""
    if preset == "quick":
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy"), modes=("recompute", "evict"),
                        positions=("preserved", "reindexed"), budgets=tuple(2**k for k in range(8)), prefixes=4,
                        prefix_length=512, targets=8, dtype=dtype)
        online = replace(main, policies=("sliding", "sink"), modes=("online",), positions=("preserved",),
                         budgets=(8, 64), prefixes=2, prefix_length=256)
        return {"main": main, "online": online}
    if preset == "full":
        length = min(max_positions or 8192, 8192)
        budgets = tuple(2**k for k in range(20) if 2**k <= length // 2)
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy", "h2o", "snapkv"),
                        modes=("recompute", "evict"), positions=("preserved", "reindexed"), budgets=budgets,
                        prefixes=100, prefix_length=length, targets=32, dtype=dtype)
        online = replace(main, policies=("sliding", "sink"), modes=("online",), positions=("preserved",),
                         budgets=tuple(b for b in budgets if b >= 8), prefixes=10)
        return {"main": main, "online": online}
    raise ValueError(f"preset must be 'quick' or 'full'; got {preset!r}")


def validate(out: str | Path, *, model: str = "default", preset: str = "quick", device: str = "auto",
             dtype: str = "float32", domains=DOMAINS, n_boot: int = 1000, lm=None, corpora=None,
             progress: bool = True) -> dict:
    """Run (or resume) the measurements, then write the report; returns the report's JSON content."""
    from validation.models import load_model
    from validation.report import write_report

    out = Path(out)
    started = time.time()
    lm = lm or load_model(model, device=device, dtype=dtype)
    parts = presets(preset, model, lm.max_positions, lm.dtype)
    tables, failures = {}, {}
    for domain in domains:
        for part, protocol in parts.items():
            store = run(replace(protocol, domain=domain), out / "measure" / domain / part, lm=lm,
                        corpus=None if corpora is None else corpora[domain], progress=progress)
            tables[(domain, part)] = store.table()
            failures.update({f"{domain}/{part}|{key}": line for key, line in store.failures.items()})
    checks = analyse(tables, parts["main"], lm.kv, domains, n_boot)
    report = {
        "model": {"name": lm.name, "source": lm.source, "spec": model, "dtype": lm.dtype, "device": str(lm.device),
                  "kv_bytes_per_token": lm.kv.bytes_per_token, "bos": lm.bos, "max_positions": lm.max_positions},
        "preset": preset,
        "protocols": {part: asdict(p) for part, p in parts.items()},
        "domains": list(domains),
        "checks": [asdict(c) for c in checks],
        "failures": failures,
        "seconds": round(time.time() - started, 1),
        "note": "the corpora are very likely in the model's training data",
    }
    write_report(out, report, tables, parts["main"])
    atomic_write(out / "report.json", json.dumps(_plain(report), indent=1).encode("utf-8"))
    return report


def analyse(tables: dict, main: Protocol, kv, domains, n_boot: int) -> list:
    """Every check, per domain, from the measurement tables. A check whose measurements are
    missing (a failed part) is reported as inconclusive with the reason; the others still run."""
    checks = []
    for domain in domains:
        for name, check in _domain_checks(tables, main, kv, domain, n_boot):
            try:
                checks.append(check())
            except ValueError as exc:
                checks.append(Check(name, domain, "could not be analysed", "inconclusive", {"reason": str(exc)}))
    return checks


def _domain_checks(tables: dict, main: Protocol, kv, domain: str, n_boot: int):
    """(name, thunk) for each check of one domain, in report order."""
    t = tables.get((domain, "main")) or {}
    mu_mid = sorted(main.mus)[len(main.mus) // 2]
    pres = lambda: curves(t, "sliding", "recompute", "preserved", mu=mu_mid)  # noqa: E731
    reidx = lambda: curves(t, "sliding", "recompute", "reindexed", mu=mu_mid) if "reindexed" in main.positions else None  # noqa: E731
    alpha = {}

    def alpha_preserved():
        alpha["check"] = alpha_check(domain, pres(), reidx(), n_boot)
        return alpha["check"]

    def sink():
        a = alpha.get("check") or alpha_check(domain, pres(), reidx(), n_boot)
        return sink_check(domain, curves(t, "sink", "recompute", "preserved", mu=mu_mid),
                          a.numbers["alpha_preserved"]["estimate"], n_boot)

    def propagation():
        others = {f"{p}-evict": curves(t, p, "evict", "preserved", mu=None)
                  for p in ("sliding", "sink") if p in main.policies and "evict" in main.modes}
        online = tables.get((domain, "online"))
        if online:
            for p in ("sliding", "sink"):
                if p in main.policies:
                    others[f"{p}-online"] = curves(online, p, "online", "preserved", mu=None)
        return propagation_check(domain, pres(), others, n_boot)

    yield "power_vs_exponential", lambda: law_check(domain, pres())
    yield "alpha_tv", alpha_preserved
    yield "kl_exponent_doubling", lambda: kl_ratio_checks(
        domain, {mu: curves(t, "sliding", "recompute", "preserved", mu=mu) for mu in main.mus}, n_boot)
    if "sink" in main.policies:
        yield "sink_kl_exponent", sink
    if "random" in main.policies:
        yield "recency_vs_random", lambda: policy_check(
            domain, {p: curves(t, p, "recompute", "preserved", mu=None) for p in main.policies})
    yield "bound_prediction", lambda: prediction_check(domain, pres())
    yield "theta_band_memory", lambda: band_check(domain, pres(), kv)
    yield "propagating_faster", propagation


def _plain(value):
    from wzbounds._output import jsonable

    return jsonable(value)
