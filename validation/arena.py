"""`wzbounds arena`: kvpress presses and propagating summaries on one memory axis.

The seed paper leaves open whether caches that propagate a summary of the past
beat the suffix-only scaling, distortion ~ C w^-alpha at w tokens of window.
The arena measures, per domain and on the same prefixes:

    the suffix-only reference   sliding window, recompute mode
    propagating policies        the summaries (validation.policies.summaries): merge with and
                                without its attention bonus, pooled, multiscale (blocks growing
                                with age), quantized (a tail) and kivi (every entry, low precision,
                                a full-precision residual), each without and with 4 sinks kept
                                whole; sink+recent and sliding online and evict (online: each
                                entry computed from the entries kept at its step, so information
                                from evicted tokens travels on through the layers; evict: entries
                                computed with the whole prefix present). With `carried`, the
                                streaming summaries online too, carried through decoding
                                (validation.engine.carried): token by token, minutes per
                                512-token prefix on 2 CPU cores (docs/arena.md), so off by default
    kvpress presses             every press asked for (default: DEFAULT_PRESSES), evict mode,
                                configured for the prefix (validation.policies.presses.for_prefix:
                                window-like parameters the spec leaves unset scaled from kvpress's
                                4096-token defaults, PyramidKV's beta set so its budgets are a pyramid)

at equal budgets, and expresses every budget in bytes of KV cache
(`Policy.cache_bytes`: entries x bits x geometry), so eviction, merging, pooling
and quantization sit on one axis.

Sizes: by default PREFIXES prefixes of PREFIX_LENGTH tokens per domain at the budgets
4..512, 2.1 decades below the prefix, so faster_decay can be decided; `--quick`
(QUICK) measures 8 prefixes of 512 tokens at 4..64, where it cannot (docs/arena.md
gives what each costs). One target per prefix, its last position, unless `targets` asks for
several, `target_spacing` apart (a less noisy curve per document: the bootstrap still
resamples documents); the first should see at least 4 times the top budget, so several
targets need longer prefixes (a GPU job at the default budgets).

Each policy P against the reference, on the same documents, by the two rules of the claims
layer (wzbounds.claims.scaling; `wzbounds compare` runs the same on exported curves):

    faster_decay   P's asymptotic exponent over budgets exceeds the reference's by more than
                   5%, on budgets spanning at least two decades, and P is better at the top
                   budget: a better constant or a catch-up is never a win
    less_memory    P needs fewer bytes than the reference to reach a distortion both reach
                   inside their budgets (memory ratio with its interval)

each holds / fails / inconclusive from a paired cluster-bootstrap interval; inconclusive by
rule with fewer than 8 documents, and faster_decay when P's compressed past covers the
whole prefix at a budget of the fit range (`Policy.saturated`: its curve there measures
precision, not reach). Propagating policies are judged; presses are compared, not judged.

The leaderboard's main table ranks every press, summary and kept set at the compression
ratios kvpress users run, 25, 50, 75 and 90% of the prefix (`ratio_budgets`, a second part
on the same documents), with the metrics llama.cpp's --kl-divergence reports beside TV and
KL_mu: mean and p99 KL divergence, same-top-token rate, and the perplexity ratio on the
actual next tokens; the arena's budgets (a few entries: the extreme regime) are the second.

Outputs in OUT/: leaderboard.md, leaderboard.csv, leaderboard.png (every policy at
every budget of both parts: mean TV and KL_mu with intervals, p90 and p99 of TV, the
llama.cpp metrics, bytes), arena.md, arena.png (distortion against bytes, the empirical
frontier, the verdicts, the synthetic sources whose answer is known), arena.json
(everything), and OUT/measure/<domain>/arena/ and .../ratios/ (the resumable measurements).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from validation.policies.presses import DEFAULT_PRESSES, for_prefix
from validation.reports.arena import contest_row, standing_row, write_arena
from validation.runs.contests import contests, leaderboard, measured_pairs, reference, synthetic_answers
from validation.runs.protocol import Protocol, protocol_config
from validation.runs.runner import measure_parts
from validation.runs.store import atomic_write, check_out
from wzbounds.fit import asymptotic_range
from wzbounds.output import jsonable

DOMAINS = ("natural", "code")
PREFIX_LENGTH = 1024
BUDGETS = (4, 8, 16, 32, 64, 128, 256, 512)  # 2.1 decades below the prefix: faster_decay can be decided
PREFIXES = 16  # per domain, each from its own document in both embedded corpora
SIZE = {"prefixes": PREFIXES, "prefix_length": PREFIX_LENGTH, "budgets": BUDGETS}  # the default size
QUICK = {"prefixes": 8, "prefix_length": 512, "budgets": (4, 8, 16, 32, 64)}  # --quick: 1.2 decades, so
# faster_decay is inconclusive by rule; less_memory and the leaderboard still decide
SUMMARIES = ("merge", "merge:bonus=false", "pooled", "multiscale", "quantized", "kivi")
SINKS = 4  # each summary is run again with this many first entries kept whole (sink control)
RATIOS = (0.25, 0.5, 0.75, 0.9)  # the compression ratios kvpress users run: the leaderboard's main table


def ratio_budgets(prefix_length: int) -> tuple[int, ...]:
    """The budgets that compress the c = prefix_length - 1 text entries before the last query by each
    of RATIOS: 1 + round((1 - r) c) (the query's own entry included, as every budget)."""
    c = int(prefix_length) - 1
    return tuple(sorted({1 + round((1 - r) * c) for r in RATIOS}))


def ratios_protocol(arena: Protocol) -> Protocol:
    """The leaderboard at RATIOS: the reference, sink+recent, the summaries (without sinks) and the presses
    of the arena's protocol at `ratio_budgets`, on the same documents, in recompute and evict mode only:
    the ratios rank what users run (a prefilled context compressed once), not online decoding; one
    target per prefix, its last position, whose context the ratios are of."""
    from dataclasses import replace

    keep = ("sliding", "sink", *SUMMARIES)
    specs = tuple(p for p in arena.policies if p in keep or p.startswith("kvpress:"))
    return replace(arena, policies=specs, modes=("recompute", "evict"), budgets=ratio_budgets(arena.prefix_length),
                   carried=False, targets=1, target_spacing=1)


def arena_protocol(*, model: str = "default", presses=DEFAULT_PRESSES, prefixes: int = PREFIXES,
                   prefix_length: int = PREFIX_LENGTH, budgets=BUDGETS, dtype: str = "float32", bos: str = "auto",
                   carried: bool = False, targets: int = 1, target_spacing: int = 1) -> Protocol:
    """The arena's measurements for one domain (its `domain` set by `arena`): every summary without and
    with SINKS sinks; `carried`: the streaming summaries online too; `targets` per prefix,
    `target_spacing` positions apart, the last at the end of the prefix."""
    sinks = tuple(f"{s}{',' if ':' in s else ':'}sink={SINKS}" for s in SUMMARIES)
    specs = ("sliding", "sink", *SUMMARIES, *sinks, *(f"kvpress:{for_prefix(p, prefix_length)}" for p in presses))
    return Protocol(model=model, policies=specs, modes=("recompute", "evict", "online"), positions=("preserved",),
                    budgets=tuple(budgets), prefixes=prefixes, prefix_length=prefix_length, targets=targets,
                    target_spacing=target_spacing, dtype=dtype, bos=bos, carried=carried)


def preflight(out: str | Path, *, model: str = "default", domains=DOMAINS, presses=DEFAULT_PRESSES,
              prefixes: int = PREFIXES, prefix_length: int = PREFIX_LENGTH, budgets=BUDGETS, dtype: str = "float32",
              n_boot: int = 1000, bos: str = "auto", carried: bool = False, targets: int = 1,
              target_spacing: int = 1, check_model: bool = True) -> Path:
    """Every argument of `arena` checked before anything is fetched, loaded or written
    (validation.runs.preflight): presses and their parameters, budgets, sizes, domains, the model
    path, bootstrap count and output folder. Returns the output folder."""
    from validation.runs.preflight import check_run

    check_run(model=model, domains=domains, n_boot=n_boot, check_model_spec=check_model)
    ratios_protocol(arena_protocol(model=model, presses=presses, prefixes=prefixes, prefix_length=prefix_length,
                                   budgets=budgets, dtype=dtype, bos=bos, carried=carried, targets=targets,
                                   target_spacing=target_spacing))
    return check_out(out)


def arena(out: str | Path, *, model: str = "default", domains=DOMAINS, presses=DEFAULT_PRESSES,
          prefixes: int = PREFIXES, prefix_length: int = PREFIX_LENGTH, budgets=BUDGETS, device: str = "auto",
          dtype: str = "float32", n_boot: int = 1000, bos: str = "auto", carried: bool = False, targets: int = 1,
          target_spacing: int = 1, lm=None, corpora=None, progress: bool = True) -> dict:
    """Run (or resume) the arena's measurements and write the leaderboard and the arena report;
    returns arena.json's content. A press that fails is listed (one line each) and the rest goes on.
    `bos` as in `Protocol`: with a BOS, every context starts with it, outside the budget (a sink
    that every policy keeps). `carried`: the streaming summaries in online mode too (costly on a CPU).
    `targets` per prefix, `target_spacing` apart (the arena part: its verdicts; the ratios part keeps
    one, the last position): the bootstrap still resamples documents."""
    from validation.data.models import load_model

    out = preflight(out, model=model, domains=domains, presses=presses, prefixes=prefixes,
                    prefix_length=prefix_length, budgets=budgets, dtype=dtype, n_boot=n_boot, bos=bos,
                    carried=carried, targets=targets, target_spacing=target_spacing, check_model=lm is None)
    started = time.time()
    lm = lm or load_model(model, device=device, dtype=dtype)
    protocol = arena_protocol(model=model, presses=presses, prefixes=prefixes, prefix_length=prefix_length,
                              budgets=budgets, dtype=lm.dtype, bos=bos, carried=carried, targets=targets,
                              target_spacing=target_spacing)
    at_ratios = ratios_protocol(protocol)
    measured = measure_parts(out, {"arena": protocol, "ratios": at_ratios}, domains, lm=lm, corpora=corpora,
                             progress=progress, every_runnable_mode=True)  # each policy in the modes it runs in
    bos = measured.bos
    standings, main, results, failures = [], [], [], dict(measured.failures)
    for label in measured.domains:
        if measured_pairs(measured.tables[(label, "ratios")]):
            main += leaderboard(measured.tables[(label, "ratios")], at_ratios, lm.kv, bos, label, n_boot=n_boot)
        table = measured.tables[(label, "arena")]
        if not measured_pairs(table):
            continue
        standings += leaderboard(table, protocol, lm.kv, bos, label, n_boot=n_boot)
        try:
            results += contests(table, protocol, lm.kv, bos, label, n_boot=n_boot)
        except ValueError as exc:  # the reference failed: no ratio on this domain, the leaderboard stands
            failures[f"{label}|arena"] = f"{label}: no arena verdicts: {exc}"
    report = {
        "model": {"name": lm.name, "dtype": lm.dtype, "device": str(lm.device),
                  "kv_bytes_per_token": lm.kv.bytes_per_token, "kv_layout": lm.kv.describe(),
                  "bos": bos.describe() + (", outside the budget" if bos else ""), "bos_rule": bos.rule},
        "protocol": protocol_config(protocol),
        "fit_range": list(asymptotic_range(protocol.budgets)),
        "domains": [Path(d).name if d not in DOMAINS else d for d in domains],
        "ratios": list(RATIOS),
        "leaderboard_ratios": [standing_row(s) for s in main],
        "leaderboard": [standing_row(s) for s in standings],
        "contests": [contest_row(c) for c in results],
        "synthetic": synthetic_answers(),
        "failures": failures,
        "seconds": round(time.time() - started, 1),
    }
    write_arena(out, report, standings, results, reference(protocol), main)
    atomic_write(out / "arena.json", json.dumps(jsonable(report), indent=1).encode("utf-8"))
    return report
