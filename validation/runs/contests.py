"""The arena's analysis: every policy at every budget (the leaderboard), and every policy against the
suffix-only reference by the claims layer's two rules, faster_decay and less_memory.

The reference is the policy declaring `suffix_only`, in recompute mode; the contenders
(judged) are the kept-set policies in evict and online mode and the summaries, by
declaration (`Policy.kind`); presses are ranked and compared, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from validation.data.bos import Bos
from validation.runs.costs import Costs
from validation.runs.protocol import Protocol, curves, document_means, documents
from wzbounds.claims.scaling import faster_decay, less_memory
from wzbounds.fit import Interval, cluster_bootstrap, resampled_means
from wzbounds.verdict import Verdict


def reference(protocol: Protocol) -> tuple[str, str]:
    """(spec, mode) of the reference: `Protocol.reference`, in recompute mode."""
    return protocol.reference(), "recompute"


def is_contender(protocol: Protocol, spec: str, mode: str) -> bool:
    """Whether (spec, mode) propagates information from evicted tokens and is decided: a kept-set
    policy in evict or online mode, or a summary (presses are ranked only)."""
    kind = protocol.policy(spec).kind
    return kind == "summary" or (kind == "kept" and mode in ("evict", "online"))


@dataclass(frozen=True)
class Standing:
    """One policy at one budget on one domain: the leaderboard's row.

    bytes: KV cache the query attends to; tv, kl: means over documents with paired-bootstrap
    intervals; tv_p90: the 90% quantile of TV over documents with its interval; tv_p99: the 99%
    quantile (with n documents, the top of the sample; no interval). ratio: the compression ratio
    the budget is, 1 - (k - 1) / c for the c text entries before the last query. The metrics llama.cpp's
    `--kl-divergence` reports (None where the measurements predate them): kld, the mean of
    KL(p || q) in nats, and kld_p99, its 99% quantile over measured targets; same_top, the rate at
    which the most likely token is the full context's; ppl_ratio, PPL(q) / PPL(p) on the actual
    next tokens, exp of the mean excess negative log-likelihood (interval: exp of its interval)."""

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
    ratio: float = float("nan")
    kld: Interval | None = None
    kld_p99: float | None = None
    same_top: Interval | None = None
    ppl_ratio: Interval | None = None


@dataclass(frozen=True)
class Contest:
    """A policy against the suffix-only reference on the same documents, by the claims layer's two rules
    (wzbounds.claims.scaling): `faster` (faster_decay: the exponent ratio over budgets, and the top-budget
    ratio) and `less` (less_memory: bytes to reach a distortion both reach, as a ratio); `same_mode`:
    faster_decay against the sliding window in the policy's own mode (None for recompute); `bytes`: its
    memory at the smallest and largest budget; `judged`: a propagating policy, whose verdicts count."""

    domain: str
    policy: str
    mode: str
    faster: Verdict
    less: Verdict
    same_mode: Verdict | None
    bytes: tuple[float, float]
    judged: bool

    @property
    def words(self) -> str:
        if not self.judged:
            return ""
        return f"faster decay: {self.faster.outcome}; less memory: {self.less.outcome}"


def measured_pairs(table: dict) -> list[tuple[str, str]]:
    if not table or "policy" not in table:
        return []
    pairs = zip(table["policy"].astype(str), table["mode"].astype(str))
    return sorted(set(pairs), key=lambda p: (p[1], p[0]))


def leaderboard(table: dict, protocol: Protocol, kv, bos: Bos, domain: str, *, n_boot: int = 1000,
                seed: int = 0) -> list[Standing]:
    """Every measured (policy, mode) at every budget (see `Standing`)."""
    mu = sorted(protocol.mus)[len(protocol.mus) // 2]
    boot = {"n_boot": n_boot, "seed": seed}
    costs = Costs.of(protocol, kv, bos)
    context = costs.queries[-1] - int(bos)  # text entries before the last query

    def mean_of(values: np.ndarray) -> Interval:
        return cluster_bootstrap(values.shape[0], lambda rows, p=values: resampled_means(p, rows)[:, 0], **boot)

    out = []
    for spec, mode in measured_pairs(table):
        c = curves(table, spec, mode, "preserved", mu=mu)
        memory = costs.memory(spec, c.windows)
        metrics = {name: document_means(table, spec, mode, name)[2]
                   for name in ("kld", "same_top", "excess_nll") if name in table}
        for j, k in enumerate(c.windows):
            tv, kl = c.tv[:, j : j + 1], c.kl[:, j : j + 1]
            n = tv.shape[0]
            p90 = cluster_bootstrap(n, lambda rows, p=tv: np.quantile(p[rows, 0], 0.9, axis=1), **boot)
            extra = {}
            if metrics:
                nll = metrics["excess_nll"][:, j : j + 1]
                nll = nll[np.isfinite(nll[:, 0])]
                log_ratio = mean_of(nll) if nll.shape[0] >= 2 else None
                extra = {"kld": mean_of(metrics["kld"][:, j : j + 1]),
                         "kld_p99": float(np.quantile(_rows(table, spec, mode, k, "kld"), 0.99)),
                         "same_top": mean_of(metrics["same_top"][:, j : j + 1]),
                         "ppl_ratio": None if log_ratio is None else _exp(log_ratio)}
            out.append(Standing(domain, spec, mode, protocol.policy(spec).kind, int(k), float(memory[j]), n,
                                mean_of(tv), mean_of(kl), p90, float(np.quantile(tv[:, 0], 0.99)),
                                ratio=max(0.0, 1.0 - (int(k) - 1) / context), **extra))
    return out


def _exp(iv: Interval) -> Interval:
    """exp of an interval's estimate, ends and bootstrap distribution (exp is monotone)."""
    dist = np.exp(iv.distribution)
    return Interval(float(np.exp(iv.estimate)), float(np.exp(iv.low)), float(np.exp(iv.high)), float(dist.std()),
                    iv.level, dist)


def _rows(table: dict, spec: str, mode: str, budget, column: str) -> np.ndarray:
    """Every measured target's value of `column` for (spec, mode) at one budget, preserved positions."""
    sel = (table["policy"] == spec) & (table["mode"] == mode) & (table["positions"] == "preserved") \
        & (table["budget"] == budget)
    values = np.asarray(table[column][sel], dtype=float)
    return values[np.isfinite(values)]


def contests(table: dict, protocol: Protocol, kv, bos: Bos, domain: str, *, n_boot: int = 1000,
             seed: int = 0) -> list[Contest]:
    """Every measured (policy, mode) on the reference's documents against the suffix-only reference:
    faster_decay over budgets and less_memory in bytes (`Contest`), on the curves `Costs.curves`
    annotates (bytes and saturation, which the two rules read: `wzbounds compare` on exported
    curves decides the same); judged for the propagating ones
    (`is_contender`), reported for the rest."""
    ref_key = reference(protocol)
    costs = Costs.of(protocol, kv, bos)
    ref = costs.curves(table, *ref_key)
    docs = documents(table, *ref_key)
    measured = measured_pairs(table)
    suffix = ref_key[0]
    same = {mode: costs.curves(table, suffix, mode) for spec, mode in measured
            if spec == suffix and mode != "recompute" and documents(table, suffix, mode) == docs}
    boot = {"n_boot": n_boot, "seed": seed}
    out = []
    for spec, mode in measured:
        if (spec, mode) == ref_key or documents(table, spec, mode) != docs:
            continue
        c = costs.curves(table, spec, mode)
        faster, less = faster_decay(ref, c, **boot), less_memory(ref, c, **boot)[0]
        same_mode = faster_decay(same[mode], c, **boot) if mode in same and spec != suffix else None
        out.append(Contest(domain, spec, mode, faster, less, same_mode, (float(c.memory.min()), float(c.memory.max())),
                           is_contender(protocol, spec, mode)))
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
