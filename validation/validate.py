"""`wzbounds validate`: measure a model on its domains, decide the paper's claims, write the report.

Three presets; every one spends its budget on independent documents (the
bootstrap unit), one target at the end of each prefix:

    quick     32 prefixes of 256 tokens per domain, budgets 1..64; sliding (also re-indexed),
              sink, random, heavy in recompute and evict mode.
              At most 10 minutes from `bash dev.sh main` on a 2-core CPU.
    standard  32 prefixes of 1024 tokens per domain, budgets 1..512; all six policies in
              recompute and evict mode, sliding re-indexed, and online sliding and sink at
              budgets 8, 32, 128, 512 on the same prefixes. 92 min on a shared 2-core CPU.
    full      the paper's scale, for a GPU: 100 prefixes per domain as long as the model's
              context (at most 8192 tokens), budgets to half the prefix, every policy and mode.

Exponents are fitted on the checker's range (`wzbounds check`: the upper half,
on the log scale, of the budgets whose mean TV is measured to 20% relative
standard error; above twice the sinks for sink+recent), printed in the report. `policies` and `modes` narrow or widen a preset; the
sliding window and recompute are always measured (every claim rests on them).
A part that fails is listed in the report and costs only the claims that need
it. Measurements go to OUT/measure/<domain>/<part>/ (resumable shards); the
report (report.md, report.html, report.json, PNG figures) to OUT/.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from validation.claims import DomainData, Finding, decide
from validation.preflight import check_run
from validation.preflight import domain_label as _label
from validation.protocol import Protocol, curves, documents, protocol_config, run
from validation.store import atomic_write, check_out

DOMAINS = ("natural", "code")
PRESETS = ("quick", "standard", "full")
NEAR_ONE = 0.9  # sanity flag: mean TV still above this at the middle budget


def _powers(top: int, bottom: int = 1) -> tuple[int, ...]:
    return tuple(2**k for k in range(20) if bottom <= 2**k <= top)


def presets(preset: str, model: str, max_positions: int, dtype: str = "float32", *, policies=None,
            modes=None, bos: str = "auto") -> dict[str, Protocol]:
    """The protocols of a preset by part name ("main", and "online" when online is measured); `bos`
    as in `Protocol` (auto, always, never)."""
    if preset == "quick":
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy"), modes=("recompute", "evict"),
                        positions=("preserved", "reindexed"), reindex=("sliding",), budgets=_powers(64),
                        prefixes=32, prefix_length=256, targets=1, dtype=dtype)
        online_budgets = (8, 16, 32, 64)
    elif preset == "standard":
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy", "h2o", "snapkv"),
                        modes=("recompute", "evict"), positions=("preserved", "reindexed"), reindex=("sliding",),
                        budgets=_powers(512), prefixes=32, prefix_length=1024, targets=1, dtype=dtype)
        online_budgets = (8, 32, 128, 512)
    elif preset == "full":
        length = min(max_positions or 8192, 8192)
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy", "h2o", "snapkv"),
                        modes=("recompute", "evict"), positions=("preserved", "reindexed"), reindex=("sliding",),
                        budgets=_powers(length // 2), prefixes=100, prefix_length=length, targets=1, dtype=dtype)
        online_budgets = _powers(length // 2, 8)
    else:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    wants_online = preset != "quick"
    if policies is not None:
        chosen = tuple(dict.fromkeys(("sliding", *policies)))
        main = replace(main, policies=chosen, reindex=("sliding",))
    if modes is not None:
        bad = sorted(set(modes) - {"recompute", "evict", "online"})
        if bad:
            raise ValueError(f"modes must be among recompute, evict, online; got {bad}")
        main = replace(main, modes=tuple(dict.fromkeys(("recompute", *(m for m in modes if m != "online")))))
        wants_online = "online" in modes
    main = replace(main, bos=bos)
    parts = {"main": main}
    static = tuple(p for p in main.policies if main.policy(p).static_online)
    if wants_online and static:
        parts["online"] = replace(main, policies=static, modes=("online",), positions=("preserved",), reindex=None,
                                  budgets=online_budgets)
    return parts


def preflight(out: str | Path, *, model: str = "default", preset: str = "quick", dtype: str = "float32",
              domains=DOMAINS, n_boot: int = 1000, policies=None, modes=None, bos: str = "auto",
              check_model: bool = True) -> Path:
    """Every argument of `validate` checked before anything is fetched, loaded or written
    (validation.preflight); returns the output folder. The preset is checked at the longest
    context a model may have (the full preset's prefixes follow the model's context)."""
    check_run(model=model, domains=domains, n_boot=n_boot, check_model_spec=check_model)
    presets(preset, model, 8192, dtype, policies=policies, modes=modes, bos=bos)
    return check_out(out)


def validate(out: str | Path, *, model: str = "default", preset: str = "quick", device: str = "auto",
             dtype: str = "float32", domains=DOMAINS, n_boot: int = 1000, lm=None, corpora=None,
             policies=None, modes=None, bos: str = "auto", progress: bool = True) -> dict:
    """Run (or resume) the measurements, decide every claim, write the report; returns report.json's content.

    domains: "natural", "code" or paths to the user's own texts (a file or a folder); corpora:
    {domain: Corpus} to use instead of loading them; bos: "auto" (a BOS first in every context when
    the tokenizer adds one), "always" (the tokenizer's BOS in any case: a sink every policy keeps),
    "never"."""
    from validation.masks import AttentionLayout
    from validation.models import load_model
    from validation.report import write_report

    out = preflight(out, model=model, preset=preset, dtype=dtype, domains=domains, n_boot=n_boot,
                    policies=policies, modes=modes, bos=bos, check_model=lm is None)
    started = time.time()
    lm = lm or load_model(model, device=device, dtype=dtype)
    parts = presets(preset, model, lm.max_positions, lm.dtype, policies=policies, modes=modes, bos=bos)
    bos_id = lm.bos_token(bos)  # "always" with no BOS token: one line, before anything is written
    labels = {_label(d): d for d in domains}
    for label, domain in labels.items():  # every part's folder, before the first is measured
        for part, protocol in parts.items():
            check_out(out / "measure" / label / part, protocol_config(replace(protocol, domain=domain)))
    tables, failures = {}, {}
    for label, domain in labels.items():
        for part, protocol in parts.items():
            store = run(replace(protocol, domain=domain), out / "measure" / label / part, lm=lm,
                        corpus=None if corpora is None else corpora[domain], progress=progress)
            tables[(label, part)] = store.table()
            failures.update({f"{label}/{part}|{key}": line for key, line in store.failures.items()})
    findings = analyse(tables, parts, lm.kv, list(labels), n_boot, context=lm.max_positions)
    window = AttentionLayout.of(lm.model.config).sliding_window
    report = {
        "model": {"name": lm.name, "source": lm.source, "spec": model, "dtype": lm.dtype, "device": str(lm.device),
                  "kv_bytes_per_token": lm.kv.bytes_per_token, "kv_layout": lm.kv.describe(),
                  "bos": lm.bos if bos == "auto" else (f"BOS (id {bos_id}) put first in every context (--bos always)"
                                                       if bos_id is not None else "no BOS (--bos never)"),
                  "max_positions": lm.max_positions,
                  "sliding_window": window},
        "preset": preset,
        "protocols": {part: {**asdict(p), "hyperparameters": p.hyperparameters()} for part, p in parts.items()},
        "domains": list(labels),
        "checks": [f.to_dict() for f in findings],
        "flags": sanity_flags(tables, parts, findings, window),
        "failures": failures,
        "seconds": round(time.time() - started, 1),
        "note": "the corpora are very likely in the model's training data",
    }
    write_report(out, report, tables, parts, n_boot)
    atomic_write(out / "report.json", json.dumps(_plain(report), indent=1).encode("utf-8"))
    return report


def domain_data(tables: dict, parts: dict[str, Protocol], domain: str) -> DomainData:
    """The curves every claim of one domain reads, checked to be on the same documents."""
    main = parts["main"]
    t = tables.get((domain, "main")) or {}
    mu = sorted(main.mus)[len(main.mus) // 2]
    sliding = curves(t, "sliding", "recompute", "preserved", mu=mu)
    docs = documents(t, "sliding", "recompute", "preserved")

    def paired(table, spec, mode, positions="preserved", mu=mu):
        """The curves of (spec, mode) if measured on exactly the sliding window's documents, else None."""
        if not table or "policy" not in table or documents(table, spec, mode, positions) != docs:
            return None
        return curves(table, spec, mode, positions, mu=mu)

    def spec_of(name):
        return next((s for s in main.policies if main.policy(s).name == name), None)

    sink, random = spec_of("sink"), spec_of("random")
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
        paired(t, "sliding", "recompute", "reindexed") if "reindexed" in main.positions else None,
        paired(t, sink, "recompute") if sink else None, main.policy(sink).n_sink if sink else 0,
        paired(t, random, "recompute") if random else None,
        {k: v for k, v in propagating.items() if v is not None},
    )


def analyse(tables: dict, parts: dict[str, Protocol], kv, domains, n_boot: int, context: int = 0) -> list[Finding]:
    """Every claim, per domain. A domain whose sliding-window curve is missing (a failed part) gets
    one inconclusive finding saying why; the other domains are decided as usual."""
    from wzbounds.verdict import INCONCLUSIVE, Verdict

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


def sanity_flags(tables: dict, parts: dict[str, Protocol], findings: list[Finding], window: int | None) -> list[str]:
    """Plain warnings a reader should see before the verdicts."""
    flags = []
    main = parts["main"]
    for (domain, part), t in tables.items():
        if part != "main" or not t or "policy" not in t:
            continue
        sel = (t["policy"] == "sliding") & (t["mode"] == "recompute") & (t["positions"] == "preserved")
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


def _plain(value):
    from wzbounds.output import jsonable

    return jsonable(value)
