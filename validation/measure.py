"""The measurement engine: next-token laws under a cache policy, against the full context.

For a prefix x_0..x_{L-1} and targets t (the last positions of the prefix),
the full-context law p_t comes from one forward pass. A cache policy with
budget k keeps positions K_t (always including t), and the approximate law
q_t comes from one of three modes:

    recompute  the model runs on the kept tokens only, positions preserved
               (position ids = the original positions) or re-indexed from 0
    evict      the full prefix is prefilled once; for target t the cache is cut to
               positions < t, the policy's entries are kept, and x_t runs against
               them. Kept entries were computed with the evicted tokens present,
               so this is NOT suffix-only. On full-attention models every (t, k) runs
               in one forward of the queries under a 4D mask over the prefix cache;
               one cache edit per pair is the reference.
               Summaries (merge, pooled, quantized: validation.summaries) rewrite the
               cache cut before t and x_t runs against it; kvpress presses
               (validation.presses) compress while prefilling x_0..x_{t-1}. Both run
               in evict mode only, one forward of x_t per (t, k).
    online     token-by-token decoding from position 0, evicting after every step
               (StreamingLLM style), for policies with a static kept set; on
               full-attention models one forward under the mask whose row j is the
               kept set at step j; the token-by-token decoder is the reference.

Recompute has two engines. The naive one runs one forward per (t, k). The
anchored one serves every policy whose kept set is a fixed head H (empty,
or the sinks) plus a contiguous run [s, t]: one forward over H + x_s..x_{L-1}
yields, at every target t >= s, the law with budget |H| + t - s + 1. Anchors
are batched with left padding so all rows end at the last target. The cheaper
engine (counted in forward tokens) is used; both give the same numbers.

Divergences are computed in float64 from the logits: TV and KL_mu for each mu.
The compared laws travel as raw logits (the model's dtype, half the memory of
float64 log-probabilities) and are normalised in float64 a block of rows at a
time, next to their use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from validation.policies import CachePolicy

MODES = ("recompute", "evict", "online")
POSITIONS = ("preserved", "reindexed")


def _torch():
    import torch

    return torch


class FullSide:
    """The full-context laws at the targets, prepared once for many comparisons.

    KL_mu(p, q) = sum p^mu log p^mu - sum p^mu log q^mu, and with
    log q^mu = log(1-mu) + log(q + c), c = mu / ((1-mu) V), the cross term is
    (1-mu) <p, log(q + c)> + (mu/V) sum log(q + c) + log(1-mu): one temporary,
    one in-place log and one dot product per mu, all in float64.
    """

    def __init__(self, logp, mus: Sequence[float]) -> None:
        self.p = logp.double().exp()
        self.V = self.p.shape[-1]
        self.mus = tuple(mus)
        self.neg_entropy = {}
        for mu in self.mus:
            ps = (1 - mu) * self.p + mu / self.V
            self.neg_entropy[mu] = (ps * ps.log()).sum(-1)

    BLOCK = 32  # rows per pass: keeps the float64 temporaries in cache (4x faster than 512 on a CPU)

    def compare(self, rows, logits) -> dict[str, np.ndarray]:
        """TV and KL_mu between the full laws at target rows `rows` and q = softmax(logits),
        in float64 (any logits of q do: log q itself, or the model's raw outputs)."""
        parts = [self._compare(rows[i : i + self.BLOCK], logits[i : i + self.BLOCK])
                 for i in range(0, len(rows), self.BLOCK)]
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def _compare(self, rows, logits) -> dict[str, np.ndarray]:
        torch = _torch()
        p = self.p[rows]
        q = torch.softmax(logits.double(), dim=-1)
        diff = torch.sub(p, q).abs_()
        out = {"tv": (0.5 * diff.sum(-1)).cpu().numpy()}
        del diff
        for mu in self.mus:
            shifted = torch.add(q, mu / ((1 - mu) * self.V)).log_()
            cross = (1 - mu) * torch.einsum("nv,nv->n", p, shifted) + (mu / self.V) * shifted.sum(-1) + np.log1p(-mu)
            out[f"kl_{mu:g}"] = (self.neg_entropy[mu][rows] - cross).clamp_min(0.0).cpu().numpy()
        return out


@dataclass
class PrefixContext:
    """Everything computed once per prefix: tokens, targets, full laws, attention scores, the cache.

    With `bos`, tokens[0] is the model's BOS token: every context, full or kept, starts with it
    at position 0, and policies and budgets count the text tokens after it only."""

    tokens: np.ndarray
    targets: tuple[int, ...]
    full: FullSide
    attention: np.ndarray | None = None  # S[q, k]: attention mass summed over layers and heads
    bos: bool = False
    _cum: np.ndarray | None = field(default=None, repr=False)
    _prefill: list | None = field(default=None, repr=False)  # the prefix cache: (keys, values) per layer
    _recorded: dict = field(default_factory=dict, repr=False)  # t -> a recorded prefill of x_0..x_{t-1} (presses)

    def scores(self, kind: str, upto: int, window: int = 8) -> np.ndarray:
        """Per-key importance from the rows of queries <= upto (keys 0..upto+1; later keys 0)."""
        if self.attention is None:
            raise ValueError("attention scores were not computed for this prefix")
        if self._cum is None:
            self._cum = np.cumsum(self.attention, axis=0)
        n = upto + 2
        if kind == "last_query":
            row = self.attention[upto]
        elif kind == "accumulated":
            row = self._cum[upto]
        elif kind == "observation":
            lo = upto - window
            row = self._cum[upto] - (self._cum[lo] if lo >= 0 else 0.0)
        else:
            raise ValueError(f"unknown score kind {kind!r}")
        out = np.zeros(n)
        out[: min(n, row.size)] = row[:n]
        return out


class Engine:
    """Runs a loaded model (validation.models.LoadedModel) for the three modes.

    Every forward states its attention mask explicitly (validation.masks): the policy's kept
    entries, causality, and for sliding-window layers the window measured on position ids, so
    one code path serves full-attention, sliding-window and interleaved models alike."""

    def __init__(self, lm, *, max_batch_tokens: int = 8192, mus: Sequence[float] = (0.01, 0.1, 0.3)) -> None:
        from validation.masks import AttentionLayout

        self.lm = lm
        self.model = lm.model
        self.device = lm.device
        self.max_batch_tokens = int(max_batch_tokens)
        self.mus = tuple(mus)
        self.vocab = int(self.model.config.get_text_config().vocab_size)
        self.layout = AttentionLayout.of(self.model.config)
        self.dtype = next(self.model.parameters()).dtype

    # -- forward helpers -------------------------------------------------------------------
    def _logits(self, ids, pos, allowed, keep: int, *, key_pos=None, cache=None, log_mass=None):
        """Raw logits (the model's dtype) at the last `keep` queries.

        ids, pos: (B, q) tokens and position ids; allowed: bool (B, q, n) over the keys, which
        are the `cache` entries (at positions key_pos, (B, n - q) or (n - q,)) followed by the
        queries themselves; the sliding-window rule is added per layer type from the positions.
        log_mass (n_layers, n_kv_heads, n - q): the log multiplicity of each cache entry, added to
        every attention logit to it, layer by layer and head by head (see `_mass_hooks`)."""
        torch = _torch()
        keys = pos if key_pos is None else torch.cat([key_pos.expand(pos.shape[0], -1), pos], dim=-1)
        mask = self.layout.masks(allowed, pos, keys, self.dtype)
        handles = [] if log_mass is None else self._mass_hooks(log_mass, pos.shape[-1])
        try:
            with torch.inference_mode():
                out = self.model(input_ids=ids, position_ids=pos, attention_mask=mask, past_key_values=cache,
                                 use_cache=cache is not None, logits_to_keep=keep)
        finally:
            for handle in handles:
                handle.remove()
        return out.logits

    def _mass_hooks(self, log_mass, n_queries: int) -> list:
        """Pre-hooks on the attention modules adding log_mass[layer] to the additive mask each layer
        receives: (1, n_heads, 1, n) with each KV head's row repeated over its query heads (grouped-
        query attention) and 0 on the queries' own columns. With mass m, exp(logit + log m) = m
        exp(logit): the entry weighs what m identical entries weigh."""
        torch = _torch()

        def hook(module, args, kwargs):
            mask = kwargs.get("attention_mask")
            if mask is None:
                raise ValueError(f"model {self.lm.name!r} passes its attention mask positionally: entries with "
                                 "multiplicities (merge, pooled) cannot run on it")
            layer = log_mass[module.layer_idx].to(mask.dtype)
            layer = layer.repeat_interleave(getattr(module, "num_key_value_groups", 1), dim=0)
            pad = torch.zeros(layer.shape[0], n_queries, dtype=layer.dtype, device=layer.device)
            kwargs["attention_mask"] = mask + torch.cat([layer, pad], dim=-1)[None, :, None, :]
            return args, kwargs

        modules = [m for m in self.model.modules()
                   if type(m).__name__.endswith("Attention") and isinstance(getattr(m, "layer_idx", None), int)]
        if len(modules) != log_mass.shape[0]:
            raise ValueError(f"model {self.lm.name!r}: found {len(modules)} attention modules with a layer index "
                             f"for {log_mass.shape[0]} layers: entries with multiplicities cannot run on it")
        return [m.register_forward_pre_hook(hook, with_kwargs=True) for m in modules]

    def _rows_per_batch(self, length: int, keep: int) -> int:
        by_tokens = max(1, self.max_batch_tokens // max(length, 1))
        by_logits = max(1, int(2**28 // (8 * keep * self.vocab)))  # at most 256 MiB of logits, even in float64
        by_mask = max(1, int(2**28 // (4 * length * length * 2)))  # at most 256 MiB of masks (two layer types)
        return max(1, min(by_tokens, by_logits, by_mask))

    def context(self, tokens: Sequence[int], n_targets: int, scores: bool = False, bos: bool = False) -> PrefixContext:
        """Full-context laws at the last n_targets positions, and attention scores if asked.

        With `bos`, tokens[0] is a BOS token that every kept context keeps (see PrefixContext)."""
        torch = _torch()
        from transformers import DynamicCache

        tokens = np.asarray(tokens, dtype=np.int64)
        L = tokens.size
        if not 1 <= n_targets <= L - int(bos):
            raise ValueError(f"n_targets must be in 1..{L - int(bos)} for a prefix of {L} tokens; got {n_targets}")
        if self.lm.max_positions and L > self.lm.max_positions:
            raise ValueError(f"prefix of {L} tokens exceeds the model's context of {self.lm.max_positions} positions")
        targets = tuple(range(L - n_targets, L))
        ids = torch.as_tensor(tokens, device=self.device)[None]
        pos = torch.arange(L, device=self.device)[None]
        causal = torch.ones(L, L, dtype=torch.bool, device=self.device).tril_()[None]
        cache = DynamicCache()  # no config: every layer keeps all its entries (evict reads them)
        attention = None
        if scores:
            attention, logits = self._forward_with_attention(ids, pos, causal, n_targets, cache)
        else:
            logits = self._logits(ids, pos, causal, n_targets, cache=cache)
        logp = torch.log_softmax(logits[0].double(), dim=-1)
        prefill = [(layer.keys, layer.values) for layer in cache.layers]
        return PrefixContext(tokens, targets, FullSide(logp, self.mus), attention, bos=bool(bos), _prefill=prefill)

    def _forward_with_attention(self, ids, pos, allowed, keep, cache):
        torch = _torch()
        L = ids.shape[1]
        total = torch.zeros(L, L, dtype=torch.float64, device=self.device)

        def hook(module, args, output):
            if isinstance(output, tuple) and len(output) > 1 and output[1] is not None and output[1].dim() == 4:
                total.add_(output[1][0].double().sum(0))
                return (output[0], None, *output[2:])
            return output

        handles = [m.register_forward_hook(hook) for n, m in self.model.named_modules()
                   if type(m).__name__.endswith("Attention")]
        previous = self.model.config._attn_implementation
        self.lm.set_attention("eager")
        try:
            logits = self._logits(ids, pos, allowed, keep, cache=cache)
        finally:
            for h in handles:
                h.remove()
            self.lm.set_attention(previous)
        if not handles or float(total.sum()) == 0.0:
            raise ValueError(f"model {self.lm.name!r} exposes no attention weights (no eager attention "
                             "returning them): score-based policies (heavy, h2o, snapkv) cannot run on it")
        return total.cpu().numpy(), logits

    # -- kept sets -------------------------------------------------------------------------
    @staticmethod
    def keep(ctx: PrefixContext, policy: CachePolicy, t: int, budget: int, scores=None) -> np.ndarray:
        """The sequence positions kept for the query at position t: the policy's choice, and with a
        BOS the policy applied to the text after it (budget counted there) plus position 0."""
        if not ctx.bos:
            return policy.keep(t, budget, scores)
        if t == 0:
            return np.zeros(1, dtype=np.int64)
        text = policy.keep(t - 1, budget, None if scores is None else scores[1:])
        return np.concatenate([[0], text + 1])

    @staticmethod
    def anchored_head(ctx: PrefixContext, policy: CachePolicy) -> tuple[int, ...] | None:
        head = policy.anchored_head()
        if head is None or not ctx.bos:
            return head
        return (0, *(h + 1 for h in head))

    def kept_sets(self, ctx: PrefixContext, policy: CachePolicy, budgets: Iterable[int], upto_offset: int = 0):
        """{(t, k): kept positions} for every target and budget (scores as of query t - upto_offset)."""
        out = {}
        for t in ctx.targets:
            sc = None
            if policy.scores is not None:
                sc = ctx.scores(policy.scores, t - upto_offset, policy.score_window)
            for k in budgets:
                out[(t, int(k))] = self.keep(ctx, policy, t, int(k), sc)
        return out

    # -- recompute -------------------------------------------------------------------------
    def recompute(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int], positions: str,
                  method: str = "auto") -> list[dict]:
        """Rows (t, budget, divergences) for recompute mode; method "auto", "anchored" or "naive"."""
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}; got {positions!r}")
        if "recompute" not in policy.modes:
            raise ValueError(f"policy {policy.name!r} rewrites the cache: it runs in evict mode only")
        kept = self.kept_sets(ctx, policy, budgets)
        head = self.anchored_head(ctx, policy)
        if method == "auto":
            method = "anchored" if head is not None and self._anchored_cost(ctx, kept, head) < self._naive_cost(kept) else "naive"
        if method == "anchored":
            if head is None:
                raise ValueError(f"the anchored engine serves policies with a fixed head plus a contiguous run (sliding, sink), not {policy.name!r}")
            chunks = self._anchored(ctx, kept, head, positions)
        elif method == "naive":
            chunks = self._naive(ctx, kept, positions)
        else:
            raise ValueError(f"method must be 'auto', 'anchored' or 'naive'; got {method!r}")
        return self._rows(ctx, chunks)

    def _rows(self, ctx: PrefixContext, chunks: Iterable) -> list[dict]:
        """Rows from a stream of ([(t, k), ...], logits (n, V)) chunks, sorted by (t, k)."""
        index = {t: i for i, t in enumerate(ctx.targets)}
        rows = []
        for keys, logits in chunks:
            div = ctx.full.compare([index[t] for t, _ in keys], logits)
            for j, (t, k) in enumerate(keys):
                rows.append({"t": t, "budget": k, **{name: float(v[j]) for name, v in div.items()}})
        return sorted(rows, key=lambda r: (r["t"], r["budget"]))

    @staticmethod
    def _naive_cost(kept: dict) -> int:
        return sum(len(v) for v in kept.values())

    @staticmethod
    def _split(kept_set: np.ndarray, head: tuple[int, ...]) -> int | None:
        """The anchor s if kept = head + [s..t] (None if not of that form)."""
        h = len(head)
        if kept_set.size <= h or tuple(kept_set[:h]) != head:
            return None
        run = kept_set[h:]
        return int(run[0]) if run[0] >= h and np.all(np.diff(run) == 1) else None

    def _anchored_cost(self, ctx: PrefixContext, kept: dict, head: tuple[int, ...]) -> float:
        anchors = {self._split(v, head) for v in kept.values()}
        if None in anchors:
            return float("inf")
        L = ctx.tokens.size
        return sum(len(head) + L - s for s in anchors)

    def _anchored(self, ctx: PrefixContext, kept: dict, head: tuple[int, ...], positions: str):
        """Yield ([(t, k)], logits) chunks, one per batch of anchors (rows left-padded to one width)."""
        torch = _torch()
        L = ctx.tokens.size
        n_t = len(ctx.targets)
        want = defaultdict(list)  # anchor -> [(t, k)]
        fallback = {}
        for (t, k), v in kept.items():
            s = self._split(v, head)
            if s is None:  # the whole prefix fits the budget, or the head overlaps the run
                fallback[(t, k)] = v
            else:
                want[s].append((t, k))
        if fallback:
            yield from self._naive(ctx, fallback, positions)
        anchors = sorted(want)
        h = len(head)
        width = h + L - anchors[0] if anchors else 0
        per = self._rows_per_batch(width, n_t)
        tokens = torch.as_tensor(ctx.tokens, device=self.device)
        head_idx = torch.as_tensor(head, dtype=torch.long, device=self.device)
        for b in range(0, len(anchors), per):
            batch = anchors[b : b + per]
            width = h + L - batch[0]
            ids = torch.zeros(len(batch), width, dtype=torch.long, device=self.device)
            pos = torch.zeros_like(ids)
            valid = torch.zeros(len(batch), width, dtype=torch.bool, device=self.device)
            for r, s in enumerate(batch):
                idx = torch.cat([head_idx, torch.arange(s, L, device=self.device)])
                n = idx.numel()
                ids[r, width - n :] = tokens[idx]
                pos[r, width - n :] = idx if positions == "preserved" else torch.arange(n, device=self.device)
                valid[r, width - n :] = True
            eye = torch.eye(width, dtype=torch.bool, device=self.device)
            allowed = (eye.logical_not().tril_() & valid[:, None, :]) | eye  # padding rows see only themselves
            keep = min(n_t, width)
            logits = self._logits(ids, pos, allowed, keep)  # (rows, keep, V): targets L-keep..L-1
            keys = [(t, k) for s in batch for t, k in want[s]]
            r_idx = [r for r, s in enumerate(batch) for _ in want[s]]
            c_idx = [t - (L - keep) for s in batch for t, _ in want[s]]
            yield keys, logits[r_idx, c_idx]

    PACK = 256  # tokens per packed row of the naive engine: few forwards, little quadratic attention waste

    def _naive(self, ctx: PrefixContext, kept: dict, positions: str):
        """Yield ([(t, k)], logits) chunks: every kept set is its own sequence, and as many as fit are
        packed into one row, one after another, under a block-diagonal causal mask (each attends only
        to itself, at its own position ids), so a forward runs no padding and a handful of rows of
        short kept sets costs one forward, not one each."""
        torch = _torch()
        tokens = torch.as_tensor(ctx.tokens, device=self.device)
        items = sorted(kept.items(), key=lambda item: -len(item[1]))
        row: list = []
        for item in items + [None]:
            size = sum(len(v) for _, v in row)
            if row and (item is None or size + len(item[1]) > max(self.PACK, len(row[0][1]))):
                yield self._packed(tokens, row, positions)
                row = []
            if item is not None:
                row.append(item)

    def _packed(self, tokens, row: list, positions: str):
        torch = _torch()
        segments = [torch.as_tensor(v, dtype=torch.long, device=self.device) for _, v in row]
        idx = torch.cat(segments)
        owner = torch.cat([torch.full((seg.numel(),), r, device=self.device) for r, seg in enumerate(segments)])
        pos = idx if positions == "preserved" else torch.cat([torch.arange(seg.numel(), device=self.device)
                                                             for seg in segments])
        n = idx.numel()
        allowed = (owner[:, None] == owner[None, :]) & torch.ones(n, n, dtype=torch.bool, device=self.device).tril_()
        ends = torch.cumsum(torch.as_tensor([seg.numel() for seg in segments], device=self.device), 0) - 1
        logits = self._logits(tokens[idx][None], pos[None], allowed[None], ends)
        return [key for key, _ in row], logits[0]

    # -- evict -----------------------------------------------------------------------------
    def evict(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int], method: str = "auto") -> list[dict]:
        """Prefill once; per target cut the cache to positions < t, keep the policy's entries, run x_t.

        Scores come from the prefill's queries up to t - 1 (x_t is not yet seen). method "masked"
        (and "auto"): one forward of the queries per prefix (see `_evict_masked`); "pairs": one
        cache edit and forward per (target, budget), the reference. Summaries rewrite the cache
        before x_t (`_evict_summaries`); presses: method "replay" (and "auto") or "prefill", the
        reference (see `_evict_press`)."""
        if policy.kind == "press":
            if method not in ("auto", "replay", "prefill"):
                raise ValueError(f"method must be 'auto', 'replay' or 'prefill' for a press; got {method!r}")
            return self._rows(ctx, self._evict_press(ctx, policy, budgets, method))
        if method not in ("auto", "masked", "pairs"):
            raise ValueError(f"method must be 'auto', 'masked' or 'pairs'; got {method!r}")
        if policy.kind == "summary":
            return self._rows(ctx, self._evict_summaries(ctx, policy, budgets))
        kept = self.kept_sets(ctx, policy, budgets, upto_offset=1)
        if method == "pairs":
            return self._rows(ctx, self._evict_laws(ctx, kept))
        return self._rows(ctx, self._evict_masked(ctx, kept))

    def _prefill(self, ctx: PrefixContext) -> list:
        """The prefix's cache, (keys, values) per layer, from the full-context forward (`context`
        keeps every layer's entries, sliding layers included). Entries from each target on are
        never attended; the tensors are never modified (each use wraps them afresh)."""
        if ctx._prefill is None:
            raise ValueError("this prefix context holds no cache; build it with Engine.context")
        return ctx._prefill

    def _evict_masked(self, ctx: PrefixContext, kept: dict):
        """Every (target t, budget k) law of evict mode from one forward of the queries.

        The prefix's cache is kept whole; the queries follow it as one batch of extra tokens,
        x_t at position id t for each (t, k), under a mask whose row admits exactly the kept
        cache entries before t and the query itself (sliding layers: those within the window
        of position t). Each query then computes, layer by layer, what x_t computes against
        the cache cut to its kept entries: the same law as the per-pair cache edit
        (docs/validation.md derives it), for the cost of one forward of the queries."""
        torch = _torch()
        from transformers import DynamicCache

        layers = self._prefill(ctx)
        n = layers[0][0].shape[-2]
        items = sorted(kept.items())
        tokens = torch.as_tensor(ctx.tokens, device=self.device)
        key_pos = torch.arange(n, device=self.device)
        per = max(1, min(len(items), self.max_batch_tokens // 8, int(2**27 // max(self.vocab * 8, 1)),
                         int(2**27 // max(8 * (n + 1), 1))))
        for b in range(0, len(items), per):
            chunk = items[b : b + per]
            q = len(chunk)
            allowed = torch.zeros(1, q, n + q, dtype=torch.bool, device=self.device)
            for r, ((t, _), v) in enumerate(chunk):
                allowed[0, r, torch.as_tensor(v[v < t], dtype=torch.long, device=self.device)] = True
            allowed[0, :, n:] = torch.eye(q, dtype=torch.bool, device=self.device)
            query_pos = torch.as_tensor([t for (t, _), _ in chunk], dtype=torch.long, device=self.device)[None]
            cache = DynamicCache(ddp_cache_data=list(layers))
            logits = self._logits(tokens[query_pos], query_pos, allowed, q, key_pos=key_pos, cache=cache)
            yield [key for key, _ in chunk], logits[0]

    def _evict_laws(self, ctx: PrefixContext, kept: dict):
        """The reference: per (t, k) a cache holding only the kept entries before t, and x_t run on it."""
        torch = _torch()
        from transformers import DynamicCache

        layers = self._prefill(ctx)
        ids = torch.as_tensor(ctx.tokens, device=self.device)[None]
        for (t, k), v in kept.items():
            past = torch.as_tensor(v[v < t], device=self.device)
            cache = DynamicCache(ddp_cache_data=[(key.index_select(-2, past), val.index_select(-2, past))
                                                 for key, val in layers])
            allowed = torch.ones(1, 1, past.numel() + 1, dtype=torch.bool, device=self.device)
            logits = self._logits(ids[:, t : t + 1], torch.tensor([[t]], device=self.device), allowed, 1,
                                  key_pos=past, cache=cache)
            yield [(t, k)], logits[:, -1]

    def _evict_summaries(self, ctx: PrefixContext, policy, budgets: Sequence[int]):
        """Per (t, k): the policy rewrites the prefix cache before t (validation.summaries) and x_t
        runs against it, every entry at its position id, multiplicities as attention offsets."""
        torch = _torch()
        from transformers import DynamicCache

        layers = self._prefill(ctx)
        ids = torch.as_tensor(ctx.tokens, device=self.device)[None]
        for t in ctx.targets:
            for k in budgets:
                state = policy.summarise(layers, t, int(k), ctx.bos)
                m = state.size
                cache = DynamicCache(ddp_cache_data=list(zip(state.keys, state.values))) if m else None
                allowed = torch.ones(1, 1, m + 1, dtype=torch.bool, device=self.device)
                logits = self._logits(ids[:, t : t + 1], torch.tensor([[t]], device=self.device), allowed, 1,
                                      key_pos=state.positions if m else None, cache=cache,
                                      log_mass=state.log_mass if m else None)
                yield [(t, int(k))], logits[:, -1]

    def _evict_press(self, ctx: PrefixContext, policy, budgets: Sequence[int], method: str):
        """Per (t, k): x_0..x_{t-1} prefilled under the kvpress press at the budget's compression
        ratio (validation.presses), then x_t at position id t against the compressed cache.

        method "replay" (and "auto"): one plain prefill per target, whose attention layers' calls
        are recorded; per budget the press's own forward hook is replayed on each recorded call
        over a fresh copy of the full cache. A press compresses each layer's cache after that
        layer has attended, so the prefill's hidden states do not depend on the ratio and the
        replay compresses exactly what a prefill under the press would. "prefill": one prefill
        under the press per budget, the reference."""
        torch = _torch()
        from transformers import DynamicCache

        ids = torch.as_tensor(ctx.tokens, device=self.device)[None]
        for t in ctx.targets:
            calls = full = None
            if method != "prefill":  # recorded once per target, shared by every press of the prefix
                if t not in ctx._recorded:
                    ctx._recorded[t] = self._recorded_prefill(ids[:, :t])
                calls, full = ctx._recorded[t]
            for k in budgets:
                press = policy.build(policy.compression_ratio(t, int(k), ctx.bos))
                try:  # presses that draw (Random, LeverageScore sketches) draw the same in both engines and runs
                    with torch.inference_mode(), torch.random.fork_rng(devices=self._rng_devices()):
                        torch.manual_seed(int(t) * 100_003 + int(k))
                        if calls is None:
                            cache = DynamicCache()
                            with press(self.model):
                                self.model(input_ids=ids[:, :t], past_key_values=cache, use_cache=True, logits_to_keep=1)
                        else:
                            cache = DynamicCache(ddp_cache_data=[(key.clone(), value.clone()) for key, value in full])
                            with press(self.model):
                                for module, args, kwargs, output in calls:
                                    press.forward_hook(module, args, {**kwargs, "past_key_values": cache}, output)
                        out = self.model(input_ids=ids[:, t : t + 1], position_ids=torch.tensor([[t]], device=self.device),
                                         past_key_values=cache, use_cache=True, logits_to_keep=1)
                finally:
                    for module in self.model.modules():  # head-wise presses leave masks for the next decode
                        if getattr(module, "masked_key_indices", None) is not None:
                            module.masked_key_indices = None
                yield [(t, int(k))], out.logits[:, -1]

    def _rng_devices(self) -> list[int]:
        return [self.device.index or 0] if self.device.type == "cuda" else []

    def _recorded_prefill(self, ids):
        """A plain prefill of `ids`: every attention layer's call (module, args, kwargs, output), in
        order, and the full cache, (keys, values) per layer."""
        torch = _torch()
        from transformers import DynamicCache

        base = getattr(self.model, "model", None)
        layers = getattr(getattr(base, "language_model", base), "layers", None)
        if layers is None or not all(hasattr(layer, "self_attn") for layer in layers):
            raise ValueError(f"model {self.lm.name!r} has no model.layers[i].self_attn, where kvpress hooks its "
                             "presses (Llama, Qwen, Mistral, Gemma 3, Phi-3 have them; GPT-2 does not)")
        calls = []

        def record(module, args, kwargs, output):
            calls.append((module, args, dict(kwargs), output))

        handles = [layer.self_attn.register_forward_hook(record, with_kwargs=True) for layer in layers]
        cache = DynamicCache()
        try:
            with torch.inference_mode():
                self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        finally:
            for handle in handles:
                handle.remove()
        return calls, [(layer.keys, layer.values) for layer in cache.layers]

    # -- online ----------------------------------------------------------------------------
    def online(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int], method: str = "auto") -> list[dict]:
        """Decode token by token from position 0, evicting after every step so that the next
        query sees at most `budget` tokens (itself included), positions preserved. Policies
        with a static online kept set only (`static_online`: sliding, sink).

        method "masked" (and "auto"): one forward per batch of budgets under the mask whose row
        j is the kept set at step j (see `_online_masked`); "tokens": the token-by-token decoder
        with cache eviction, the reference."""
        if not policy.static_online:
            raise ValueError(f"online mode runs policies with a static kept set (sliding, sink), not {policy.name!r}")
        if method in ("auto", "masked"):
            return self._rows(ctx, self._online_masked(ctx, policy, budgets))
        if method == "tokens":
            return self._rows(ctx, self._online_laws(ctx, policy, budgets))
        raise ValueError(f"method must be 'auto', 'masked' or 'tokens'; got {method!r}")

    def _online_kept(self, ctx: PrefixContext, policy: CachePolicy, budget: int) -> np.ndarray:
        """M[j, i] = (i in K_j): the kept set at every step j, as a boolean matrix."""
        L = ctx.tokens.size
        M = np.zeros((L, L), dtype=bool)
        for j in range(L):
            M[j, self.keep(ctx, policy, j, budget)] = True
        return M

    def _cone(self, M: np.ndarray, targets: Sequence[int]) -> np.ndarray:
        """The steps the targets depend on: the targets, and every entry a needed row attends to,
        closed over the model's layers (a row's layer-l state reads its kept entries' layer-(l-1)
        states). Rows outside it never influence a target, so the forward skips them."""
        need = np.zeros(M.shape[0], dtype=bool)
        need[list(targets)] = True
        for _ in range(len(self.layout.layer_types)):
            grown = need | M[need].any(axis=0)
            if (grown == need).all():
                break
            need = grown
        return np.flatnonzero(need)

    def _online_masked(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int]):
        """Online decoding as one forward per batch of budgets.

        Online, entry i is computed at step i from the entries kept then, K_i (a fixed function
        of (i, k) for a static policy), and never changes afterwards; the query at step j attends
        to K_j. One forward of the prefix under the mask M[j, i] = (i in K_j) computes the same
        hidden states at every layer, row by row, hence the same laws: for sliding windows a
        band, plus the sink columns for sink+recent. Only the rows the targets depend on are
        run (`_cone`), positions preserved; rows of a batch are left-padded to one width."""
        torch = _torch()
        n_t = len(ctx.targets)
        tokens = torch.as_tensor(ctx.tokens, device=self.device)
        plans = []
        for k in sorted({int(k) for k in budgets}, reverse=True):
            M = self._online_kept(ctx, policy, k)
            rows = self._cone(M, ctx.targets)
            plans.append((k, rows, M[np.ix_(rows, rows)]))
        plans.sort(key=lambda plan: -plan[1].size)
        i = 0
        while i < len(plans):
            width = plans[i][1].size
            per = self._rows_per_batch(width, n_t)
            batch = [plans[i]]  # with plans of similar width only: padding must not undo the cone
            while i + len(batch) < len(plans) and len(batch) < per and plans[i + len(batch)][1].size * 4 >= width * 3:
                batch.append(plans[i + len(batch)])
            i += len(batch)
            ids = torch.zeros(len(batch), width, dtype=torch.long, device=self.device)
            pos = torch.zeros_like(ids)
            allowed = torch.eye(width, dtype=torch.bool, device=self.device).repeat(len(batch), 1, 1)
            for r, (_, rows, sub) in enumerate(batch):
                n = rows.size
                ids[r, width - n :] = tokens[rows]
                pos[r, width - n :] = torch.as_tensor(rows, device=self.device)
                allowed[r, width - n :, width - n :] = torch.from_numpy(sub).to(self.device)
            logits = self._logits(ids, pos, allowed, n_t)  # the targets are the last n_t rows of each
            keys = [(t, k) for k, _, _ in batch for t in ctx.targets]
            yield keys, logits.reshape(-1, logits.shape[-1])

    def _online_laws(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int]):
        """The reference: decode one token at a time, cutting the cache to the next step's kept set."""
        torch = _torch()
        from transformers import DynamicCache

        L = ctx.tokens.size
        ids = torch.as_tensor(ctx.tokens, device=self.device)
        targets = set(ctx.targets)
        for k in budgets:
            cache = DynamicCache()  # no config: eviction is ours alone, no layer trims itself
            held: list[int] = []  # original positions of the cache entries, in order
            for i in range(L):
                allowed = torch.ones(1, 1, len(held) + 1, dtype=torch.bool, device=self.device)
                logits = self._logits(ids[i : i + 1][None], torch.tensor([[i]], device=self.device), allowed, 1,
                                      key_pos=torch.as_tensor(held, dtype=torch.long, device=self.device), cache=cache)
                held.append(i)
                if i in targets:
                    yield [(i, int(k))], logits[:, -1]
                if i + 1 < L:
                    keep_next = self.keep(ctx, policy, i + 1, int(k))[:-1]  # without the next query itself
                    if len(keep_next) < len(held):
                        where = {p: j for j, p in enumerate(held)}
                        sel = torch.as_tensor([where[p] for p in keep_next], dtype=torch.long, device=self.device)
                        for layer in cache.layers:
                            layer.keys = layer.keys.index_select(-2, sel)
                            layer.values = layer.values.index_select(-2, sel)
                        held = [int(p) for p in keep_next]
