"""`wzbounds arena`: kvpress presses and propagating summaries on one memory axis.

The seed paper leaves open whether caches that propagate a summary of the past
beat the suffix-only scaling, distortion ~ C w^-alpha at w tokens of window.
The arena measures, per domain and on the same prefixes:

    the suffix-only reference   sliding window, recompute mode
    propagating policies        merge, pooled, quantized (validation.summaries), sink+recent
                                and sliding online and evict (online: each entry computed from
                                the entries kept at its step, so information from evicted tokens
                                travels on through the layers; evict: entries computed with the
                                whole prefix present)
    kvpress presses             every press asked for (default: DEFAULT_PRESSES), evict mode

at equal budgets, and expresses every budget in bytes of KV cache
(`Policy.cache_bytes`: entries x bits x geometry), so eviction, merging, pooling
and quantization sit on one axis.

The verdict of a propagating policy P: alpha_B(P), the exponent of mean TV
against bytes fitted on the protocol's fit range (the upper half of the budgets,
fixed before measuring), over alpha_B of the sliding window in recompute mode
on the same documents, with a paired cluster bootstrap over documents (both
exponents refitted on every resample). "beats the suffix-only scaling" only when
the whole interval lies above 1, "does not" when it lies below 1, otherwise
"inconclusive"; inconclusive by rule with fewer than MIN_DOCUMENTS documents,
when P's compressed past covers the whole prefix at a budget of the fit range
(`Policy.saturated`: its curve there measures precision, not reach), when P's
bytes span less than a factor SPAN over the fit range (no exponent), or when a
mean distortion there is 0.

Outputs in OUT/: leaderboard.md, leaderboard.csv, leaderboard.png (every policy at
every budget: mean TV and KL_mu with intervals, p90 and p99 of TV, bytes),
arena.md, arena.png (distortion against bytes, the empirical frontier, the
verdicts, the synthetic sources whose answer is known), arena.json (everything),
and OUT/measure/<domain>/ (the resumable measurements).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from validation.claims import MIN_DOCUMENTS
from validation.preflight import domain_label as _label
from validation.presses import DEFAULT_PRESSES
from validation.protocol import Protocol, curves, documents, protocol_config, run
from validation.store import atomic_write, check_out
from wzbounds.fit import Interval, asymptotic_range, cluster_bootstrap, fitted_exponents, resampled_means
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict, decide_interval

DOMAINS = ("natural", "code")
BUDGETS = (4, 8, 16, 32, 64)  # at 512 tokens: no summary's compressed past reaches the prefix's start
SUMMARIES = ("merge", "pooled", "quantized")
REFERENCE = ("sliding", "recompute")
CONTENDERS = (("merge", "evict"), ("pooled", "evict"), ("quantized", "evict"), ("sink", "online"),
              ("sink", "evict"), ("sliding", "online"), ("sliding", "evict"))
SPAN = 2.0  # a policy's bytes must span at least this factor over the fit range to have an exponent
WORDS = {HOLDS: "beats the suffix-only scaling", FAILS: "does not beat it", INCONCLUSIVE: "inconclusive"}


def arena_protocol(*, model: str = "default", presses=DEFAULT_PRESSES, prefixes: int = 24, prefix_length: int = 512,
                   budgets=BUDGETS, dtype: str = "float32", bos: str = "auto") -> Protocol:
    """The arena's measurements for one domain (its `domain` set by `arena`)."""
    specs = ("sliding", "sink", *SUMMARIES, *(f"kvpress:{p}" for p in presses))
    return Protocol(model=model, policies=specs, modes=("recompute", "evict", "online"), positions=("preserved",),
                    budgets=tuple(budgets), prefixes=prefixes, prefix_length=prefix_length, targets=1, dtype=dtype,
                    bos=bos)


@dataclass(frozen=True)
class Standing:
    """One policy at one budget on one domain: the leaderboard's row.

    bytes: KV cache the query attends to; tv, kl: means over documents with paired-bootstrap
    intervals; tv_p90: the 90% quantile of TV over documents with its interval; tv_p99: the 99%
    quantile (with n documents, the top of the sample; no interval)."""

    domain: str
    policy: str
    mode: str
    kind: str
    budget: int
    bytes: float
    n: int
    tv: Interval
    kl: Interval
    tv_p90: Interval
    tv_p99: float


@dataclass(frozen=True)
class Contest:
    """A policy's exponent of mean TV against bytes and its ratio to the suffix-only exponent.

    alpha: alpha_B of the policy; ratio: alpha_B / alpha_B(sliding recompute), paired; same_mode:
    the ratio to the sliding window in the policy's own mode (None for recompute); bytes: its
    memory at the ends of the fit range; verdict: decided on `ratio` (only for propagating policies)."""

    domain: str
    policy: str
    mode: str
    alpha: Interval
    ratio: Interval
    same_mode: Interval | None
    bytes: tuple[float, float]
    verdict: Verdict | None

    @property
    def words(self) -> str:
        return "" if self.verdict is None else WORDS[self.verdict.outcome]


def exponent_contest(claim: str, x, panel, x_ref, panel_ref, *, n_boot: int = 1000, seed: int = 0,
                     decide: bool = True, saturated_from: float | None = None) -> tuple[Interval, Interval, Verdict | None]:
    """alpha_B of `panel` (documents x budgets, distortion) against memory x, and its ratio to the
    reference's alpha_B (panel_ref against x_ref, the same documents in the same order), both
    refitted on every paired resample; with `decide`, the verdict on the ratio (module docstring).
    saturated_from: the budget from which the policy's compressed past covers the whole prefix
    within the fit range (None if never): inconclusive by rule."""
    x, x_ref = np.asarray(x, dtype=float), np.asarray(x_ref, dtype=float)
    panel, panel_ref = np.asarray(panel, dtype=float), np.asarray(panel_ref, dtype=float)
    if panel.shape[0] != panel_ref.shape[0]:
        raise ValueError(f"{claim}: {panel.shape[0]} documents against {panel_ref.shape[0]} for the reference: "
                         "the ratio needs the same documents")
    n = panel.shape[0]
    boot = {"n_boot": n_boot, "seed": seed}

    def alpha(rows):
        return fitted_exponents(x, resampled_means(panel, rows))

    def ratio(rows):
        with np.errstate(divide="ignore", invalid="ignore"):
            return alpha(rows) / fitted_exponents(x_ref, resampled_means(panel_ref, rows))

    a, r = cluster_bootstrap(n, alpha, **boot), cluster_bootstrap(n, ratio, **boot)
    if not decide:
        return a, r, None
    if n < MIN_DOCUMENTS:
        return a, r, Verdict(claim, INCONCLUSIVE, f"{n} documents, fewer than {MIN_DOCUMENTS}: not decided by rule",
                             (r.low, r.high), {"estimate": r.estimate})
    if saturated_from is not None:
        return a, r, Verdict(claim, INCONCLUSIVE, f"from budget {saturated_from:g} on, within the fit range, its "
                             "compressed past covers the whole prefix: more memory buys precision, not reach, so "
                             "the curve there is not its scaling (measure longer prefixes: --prefix-length)",
                             (r.low, r.high), {"estimate": r.estimate})
    if x.max() / x.min() < SPAN:
        return a, r, Verdict(claim, INCONCLUSIVE, f"its memory spans {x.max() / x.min():.2f}x over the fit range, "
                             f"less than {SPAN:g}x: no exponent against bytes", (r.low, r.high), {"estimate": r.estimate})
    if np.any(panel.mean(axis=0) <= 0) or np.any(panel_ref.mean(axis=0) <= 0):
        return a, r, Verdict(claim, INCONCLUSIVE, "a mean distortion is 0 on the fit range: no exponent",
                             (r.low, r.high), {"estimate": r.estimate})
    return a, r, decide_interval(claim, r.low, r.high, holds_within=(1.0, np.inf),
                                 reason=f"alpha_B / alpha_B(sliding recompute) = {r.estimate:.4g} (paired bootstrap "
                                        f"over {n} documents); beats the suffix-only scaling above 1",
                                 estimate=r.estimate)


def _query_position(protocol: Protocol, bos: bool) -> int:
    """The position of the arena's one target: the last position of the prefix (after a BOS)."""
    return protocol.prefix_length - 1 + int(bos)


def _bytes(protocol: Protocol, spec: str, budgets, kv, bos: bool) -> np.ndarray:
    t = _query_position(protocol, bos)
    policy = protocol.policy(spec)
    return np.array([policy.cache_bytes(t, int(k), kv, bos) for k in budgets])


def _measured(table: dict) -> list[tuple[str, str]]:
    if not table or "policy" not in table:
        return []
    pairs = zip(table["policy"].astype(str), table["mode"].astype(str))
    return sorted(set(pairs), key=lambda p: (p[1], p[0]))


def leaderboard(table: dict, protocol: Protocol, kv, bos: bool, domain: str, *, n_boot: int = 1000,
                seed: int = 0) -> list[Standing]:
    """Every measured (policy, mode) at every budget (see `Standing`)."""
    mu = sorted(protocol.mus)[len(protocol.mus) // 2]
    boot = {"n_boot": n_boot, "seed": seed}
    out = []
    for spec, mode in _measured(table):
        c = curves(table, spec, mode, "preserved", mu=mu)
        memory = _bytes(protocol, spec, c.windows, kv, bos)
        for j, k in enumerate(c.windows):
            tv, kl = c.tv[:, j : j + 1], c.kl[:, j : j + 1]
            n = tv.shape[0]
            mean = cluster_bootstrap(n, lambda rows, p=tv: resampled_means(p, rows)[:, 0], **boot)
            kl_mean = cluster_bootstrap(n, lambda rows, p=kl: resampled_means(p, rows)[:, 0], **boot)
            p90 = cluster_bootstrap(n, lambda rows, p=tv: np.quantile(p[rows, 0], 0.9, axis=1), **boot)
            out.append(Standing(domain, spec, mode, protocol.policy(spec).kind, int(k), float(memory[j]), n, mean,
                                kl_mean, p90, float(np.quantile(tv[:, 0], 0.99))))
    return out


def contests(table: dict, protocol: Protocol, kv, bos: bool, domain: str, *, n_boot: int = 1000,
             seed: int = 0) -> list[Contest]:
    """alpha_B and its ratio to the suffix-only reference for every measured (policy, mode) on the
    reference's documents; verdicts for the propagating ones (CONTENDERS and the summaries)."""
    lo, hi = asymptotic_range(protocol.budgets)
    ref = curves(table, *REFERENCE, "preserved", mu=None)
    cols = (ref.windows >= lo) & (ref.windows <= hi)
    x_ref = _bytes(protocol, REFERENCE[0], ref.windows[cols], kv, bos)
    docs = documents(table, *REFERENCE)
    t = _query_position(protocol, bos)
    measured = _measured(table)
    sliding = {mode: curves(table, "sliding", mode, "preserved", mu=None) for spec, mode in measured
               if spec == "sliding" and mode != "recompute" and documents(table, "sliding", mode) == docs}
    out = []
    for spec, mode in measured:
        if (spec, mode) == REFERENCE or documents(table, spec, mode) != docs:
            continue
        c = curves(table, spec, mode, "preserved", mu=None)
        pc = (c.windows >= lo) & (c.windows <= hi)
        x = _bytes(protocol, spec, c.windows[pc], kv, bos)
        name = f"arena_{spec}_{mode}".replace(":", "_").replace(",", "_").replace("=", "_")
        policy = protocol.policy(spec)
        decide = (spec, mode) in CONTENDERS or policy.kind == "summary"
        full = [k for k in c.windows[pc] if policy.saturated(t, int(k), kv, bos)]
        alpha, ratio, verdict = exponent_contest(name, x, c.tv[:, pc], x_ref, ref.tv[:, cols], n_boot=n_boot,
                                                 seed=seed, decide=decide, saturated_from=min(full) if full else None)
        same_mode = None
        if mode in sliding and spec != "sliding":
            s = sliding[mode]
            sc = (s.windows >= lo) & (s.windows <= hi)
            _, same_mode, _ = exponent_contest(name, x, c.tv[:, pc], _bytes(protocol, "sliding", s.windows[sc], kv, bos),
                                               s.tv[:, sc], n_boot=n_boot, seed=seed, decide=False)
        out.append(Contest(domain, spec, mode, alpha, ratio, same_mode, (float(x.min()), float(x.max())), verdict))
    return out


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The empirical frontier of (bytes, distortion) points: those no point with at most as many
    bytes beats (strictly lower distortion), in increasing bytes."""
    out: list[tuple[float, float]] = []
    for b, d in sorted(points, key=lambda p: (p[0], p[1])):
        if not out or d < out[-1][1]:
            out.append((b, d))
    return out


def synthetic_answers(eps=(1e-2, 1e-3, 1e-4), samples: int = 200) -> list[dict]:
    """The known end of the question: on HMM sources the filter state is a finite sufficient
    statistic, a summary whose memory grows like log(1/eps), against a window whose memory grows
    polynomially under PTS (wzbounds.ratedistortion.sequential.hmm_sequential)."""
    from wzbounds.ratedistortion.sequential import hmm_sequential
    from wzbounds.sources import MarkovHMM, RenewalHMM

    rows = []
    for label, source in (("two-state Markov HMM", MarkovHMM()),
                          ("renewal HMM (power-law ages, max 256)", RenewalHMM(max_age=256, context=512))):
        h = hmm_sequential(source, np.asarray(eps, dtype=float), samples=samples)
        for i, e in enumerate(h.eps):
            rows.append({"source": label, "eps": float(e), "window": float(h.window[i]),
                         "window_nats": float(h.window_memory[i]), "summary_nats": float(h.summary_memory[i])})
    return rows


def preflight(out: str | Path, *, model: str = "default", domains=DOMAINS, presses=DEFAULT_PRESSES,
              prefixes: int = 24, prefix_length: int = 512, budgets=BUDGETS, dtype: str = "float32",
              n_boot: int = 1000, bos: str = "auto", check_model: bool = True) -> Path:
    """Every argument of `arena` checked before anything is fetched, loaded or written
    (validation.preflight): presses and their parameters, budgets, sizes, domains, the model
    path, bootstrap count and output folder. Returns the output folder."""
    from validation.preflight import check_run

    check_run(model=model, domains=domains, n_boot=n_boot, check_model_spec=check_model)
    arena_protocol(model=model, presses=presses, prefixes=prefixes, prefix_length=prefix_length, budgets=budgets,
                   dtype=dtype, bos=bos)
    return check_out(out)


def arena(out: str | Path, *, model: str = "default", domains=DOMAINS, presses=DEFAULT_PRESSES, prefixes: int = 24,
          prefix_length: int = 512, budgets=BUDGETS, device: str = "auto", dtype: str = "float32", n_boot: int = 1000,
          bos: str = "auto", lm=None, corpora=None, progress: bool = True) -> dict:
    """Run (or resume) the arena's measurements and write the leaderboard and the arena report;
    returns arena.json's content. A press that fails is listed (one line each) and the rest goes on.
    `bos` as in `Protocol`: with a BOS, every context starts with it, outside the budget (a sink
    that every policy keeps)."""
    from validation.arena_report import contest_row, standing_row, write_arena
    from validation.models import load_model

    out = preflight(out, model=model, domains=domains, presses=presses, prefixes=prefixes,
                    prefix_length=prefix_length, budgets=budgets, dtype=dtype, n_boot=n_boot, bos=bos,
                    check_model=lm is None)
    started = time.time()
    lm = lm or load_model(model, device=device, dtype=dtype)
    protocol = arena_protocol(model=model, presses=presses, prefixes=prefixes, prefix_length=prefix_length,
                              budgets=budgets, dtype=lm.dtype, bos=bos)
    for domain in domains:  # every domain's folder, before the first is measured
        check_out(out / "measure" / _label(domain), protocol_config(replace(protocol, domain=domain)))
    bos_id = lm.bos_token(protocol.bos)
    has_bos = bos_id is not None
    standings, results, failures, tables = [], [], {}, {}
    for domain in domains:
        label = _label(domain)
        store = run(replace(protocol, domain=domain), out / "measure" / label, lm=lm,  # each policy in its modes
                    corpus=None if corpora is None else corpora[domain], progress=progress, every_runnable_mode=True)
        failures.update({f"{label}|{key}": line for key, line in store.failures.items()})
        table = tables[label] = store.table()
        if not _measured(table):
            continue
        standings += leaderboard(table, protocol, lm.kv, has_bos, label, n_boot=n_boot)
        try:
            results += contests(table, protocol, lm.kv, has_bos, label, n_boot=n_boot)
        except ValueError as exc:  # the reference failed: no ratio on this domain, the leaderboard stands
            failures[f"{label}|arena"] = f"{label}: no arena verdicts: {exc}"
    report = {
        "model": {"name": lm.name, "dtype": lm.dtype, "device": str(lm.device),
                  "kv_bytes_per_token": lm.kv.bytes_per_token, "kv_layout": lm.kv.describe(),
                  "bos": "no BOS" if bos_id is None else f"BOS (id {bos_id}) first in every context, outside the budget",
                  "bos_rule": protocol.bos},
        "protocol": {**asdict(protocol), "hyperparameters": protocol.hyperparameters()},
        "fit_range": list(asymptotic_range(protocol.budgets)),
        "domains": [Path(d).name if d not in DOMAINS else d for d in domains],
        "leaderboard": [standing_row(s) for s in standings],
        "contests": [contest_row(c) for c in results],
        "synthetic": synthetic_answers(),
        "failures": failures,
        "seconds": round(time.time() - started, 1),
    }
    write_arena(out, report, standings, results)
    from wzbounds.output import jsonable

    atomic_write(out / "arena.json", json.dumps(jsonable(report), indent=1).encode("utf-8"))
    return report
