"""The arena's analysis: every policy at every budget (the leaderboard), and each propagating
policy's exponent of distortion against bytes beside the suffix-only reference's.

The reference is the policy declaring `suffix_only`, in recompute mode; the contenders
(decided) are the kept-set policies in evict and online mode and the summaries, by
declaration (`Policy.kind`); presses are ranked, not decided. The verdict rule is in
`validation.arena`'s doc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from validation.data.bos import Bos
from validation.runs.claims import MIN_DOCUMENTS
from validation.runs.protocol import Protocol, curves, documents
from wzbounds.fit import Interval, asymptotic_range, cluster_bootstrap, fitted_exponents, resampled_means
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict, decide_interval

SPAN = 2.0  # a policy's bytes must span at least this factor over the fit range to have an exponent
WORDS = {HOLDS: "beats the suffix-only scaling", FAILS: "does not beat it", INCONCLUSIVE: "inconclusive"}


def reference(protocol: Protocol) -> tuple[str, str]:
    """(spec, mode) of the suffix-only reference: the policy declaring `suffix_only`, recompute mode."""
    spec = next((p for p in protocol.policies if protocol.policy(p).suffix_only), None)
    if spec is None:
        raise ValueError(f"no policy among {', '.join(protocol.policies)} declares suffix_only: the arena needs "
                         "the suffix-only window as its reference")
    return spec, "recompute"


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


def _query_position(protocol: Protocol, bos: Bos) -> int:
    """The position of the arena's one target: the last position of the prefix (after a BOS)."""
    return protocol.prefix_length - 1 + int(bos)


def _bytes(protocol: Protocol, spec: str, budgets, kv, bos: Bos) -> np.ndarray:
    t = _query_position(protocol, bos)
    policy = protocol.policy(spec)
    return np.array([policy.cache_bytes(t, int(k), kv, bos) for k in budgets])


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
    out = []
    for spec, mode in measured_pairs(table):
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


def contests(table: dict, protocol: Protocol, kv, bos: Bos, domain: str, *, n_boot: int = 1000,
             seed: int = 0) -> list[Contest]:
    """alpha_B and its ratio to the suffix-only reference for every measured (policy, mode) on the
    reference's documents; verdicts for the propagating ones (`is_contender`)."""
    lo, hi = asymptotic_range(protocol.budgets)
    ref_key = reference(protocol)
    ref = curves(table, *ref_key, "preserved", mu=None)
    cols = (ref.windows >= lo) & (ref.windows <= hi)
    x_ref = _bytes(protocol, ref_key[0], ref.windows[cols], kv, bos)
    docs = documents(table, *ref_key)
    t = _query_position(protocol, bos)
    measured = measured_pairs(table)
    suffix = ref_key[0]
    sliding = {mode: curves(table, suffix, mode, "preserved", mu=None) for spec, mode in measured
               if spec == suffix and mode != "recompute" and documents(table, suffix, mode) == docs}
    out = []
    for spec, mode in measured:
        if (spec, mode) == ref_key or documents(table, spec, mode) != docs:
            continue
        c = curves(table, spec, mode, "preserved", mu=None)
        pc = (c.windows >= lo) & (c.windows <= hi)
        x = _bytes(protocol, spec, c.windows[pc], kv, bos)
        name = f"arena_{spec}_{mode}".replace(":", "_").replace(",", "_").replace("=", "_")
        policy = protocol.policy(spec)
        decide = is_contender(protocol, spec, mode)
        full = [k for k in c.windows[pc] if policy.saturated(t, int(k), kv, bos)]
        alpha, ratio, verdict = exponent_contest(name, x, c.tv[:, pc], x_ref, ref.tv[:, cols], n_boot=n_boot,
                                                 seed=seed, decide=decide, saturated_from=min(full) if full else None)
        same_mode = None
        if mode in sliding and spec != suffix:
            s = sliding[mode]
            sc = (s.windows >= lo) & (s.windows <= hi)
            _, same_mode, _ = exponent_contest(name, x, c.tv[:, pc], _bytes(protocol, suffix, s.windows[sc], kv, bos),
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
