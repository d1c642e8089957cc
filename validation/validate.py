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
from pathlib import Path

from validation.reports.report import write_report
from validation.runs.analysis import analyse, figures, sanity_flags
from validation.runs.preflight import check_run
from validation.runs.presets import DOMAINS, presets
from validation.runs.protocol import protocol_config
from validation.runs.runner import measure_parts
from validation.runs.store import atomic_write, check_out
from wzbounds.output import jsonable


def preflight(out: str | Path, *, model: str = "default", preset: str = "quick", dtype: str = "float32",
              domains=DOMAINS, n_boot: int = 1000, policies=None, modes=None, bos: str = "auto",
              check_model: bool = True) -> Path:
    """Every argument of `validate` checked before anything is fetched, loaded or written
    (validation.runs.preflight); returns the output folder. The preset is checked at the longest
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
    from validation.data.models import load_model
    from validation.engine.masks import AttentionLayout

    out = preflight(out, model=model, preset=preset, dtype=dtype, domains=domains, n_boot=n_boot,
                    policies=policies, modes=modes, bos=bos, check_model=lm is None)
    started = time.time()
    lm = lm or load_model(model, device=device, dtype=dtype)
    parts = presets(preset, model, lm.max_positions, lm.dtype, policies=policies, modes=modes, bos=bos)
    measured = measure_parts(out, parts, domains, lm=lm, corpora=corpora, progress=progress)
    labels, tables = list(measured.domains), measured.tables
    findings = analyse(tables, parts, lm.kv, labels, n_boot, context=lm.max_positions)
    window = AttentionLayout.of(lm.model.config).sliding_window
    report = {
        "model": {"name": lm.name, "source": lm.source, "spec": model, "dtype": lm.dtype, "device": str(lm.device),
                  "kv_bytes_per_token": lm.kv.bytes_per_token, "kv_layout": lm.kv.describe(),
                  "bos": measured.bos.describe(),
                  "max_positions": lm.max_positions,
                  "sliding_window": window},
        "preset": preset,
        "protocols": {part: protocol_config(p) for part, p in parts.items()},
        "domains": labels,
        "checks": [f.to_dict() for f in findings],
        "flags": sanity_flags(tables, parts, findings, window),
        "failures": dict(measured.failures),
        "seconds": round(time.time() - started, 1),
        "note": "the corpora are very likely in the model's training data",
    }
    drawn = figures(tables, parts, findings, labels, n_boot)
    write_report(out, report, drawn)
    atomic_write(out / "report.json", json.dumps(jsonable(report), indent=1).encode("utf-8"))
    return report
