"""The engine's common floor: forwards under explicit masks, the full-context pass, kept sets.

Every forward states its attention mask explicitly (validation.engine.masks): the
policy's kept entries, causality, and for sliding-window layers the window measured
on position ids, so one code path serves full-attention, sliding-window and
interleaved models alike. The modes (validation.engine.recompute, .evict, .press,
.online) build on `Forward`; `validation.engine.Engine` joins them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from validation.data.bos import Bos
from validation.engine.laws import NO_BOS, FullSide, PrefixContext, _torch

if TYPE_CHECKING:
    from validation.policies.base import CachePolicy


class Forward:
    """A loaded model (validation.data.models.LoadedModel) and the forward helpers every mode uses."""

    def __init__(self, lm, *, max_batch_tokens: int = 8192, mus: Sequence[float] = (0.01, 0.1, 0.3)) -> None:
        from validation.engine.masks import AttentionLayout

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
        log_mass (n_layers, n_kv_heads, n - q), or (B, n_layers, n_kv_heads, n - q) per row: the log
        multiplicity of each cache entry, added to every attention logit to it, layer by layer and
        head by head (see `_mass_hooks`)."""
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
        rows = log_mass if log_mass.dim() == 4 else log_mass[None]

        def hook(module, args, kwargs):
            mask = kwargs.get("attention_mask")
            if mask is None:
                raise ValueError(f"model {self.lm.name!r} passes its attention mask positionally: entries with "
                                 "multiplicities (merge, pooled, multiscale) cannot run on it")
            layer = rows[:, module.layer_idx].to(mask.dtype)  # (rows, KV heads, entries)
            layer = layer.repeat_interleave(getattr(module, "num_key_value_groups", 1), dim=1)
            pad = torch.zeros(*layer.shape[:2], n_queries, dtype=layer.dtype, device=layer.device)
            kwargs["attention_mask"] = mask + torch.cat([layer, pad], dim=-1)[:, :, None, :]
            return args, kwargs

        modules = [m for m in self.model.modules()
                   if type(m).__name__.endswith("Attention") and isinstance(getattr(m, "layer_idx", None), int)]
        if len(modules) != rows.shape[1]:
            raise ValueError(f"model {self.lm.name!r}: found {len(modules)} attention modules with a layer index "
                             f"for {rows.shape[1]} layers: entries with multiplicities cannot run on it")
        return [m.register_forward_pre_hook(hook, with_kwargs=True) for m in modules]

    def _rows_per_batch(self, length: int, keep: int) -> int:
        by_tokens = max(1, self.max_batch_tokens // max(length, 1))
        by_logits = max(1, int(2**28 // (8 * keep * self.vocab)))  # at most 256 MiB of logits, even in float64
        by_mask = max(1, int(2**28 // (4 * length * length * 2)))  # at most 256 MiB of masks (two layer types)
        return max(1, min(by_tokens, by_logits, by_mask))

    def context(self, tokens: Sequence[int], n_targets: int, scores: bool = False, bos: Bos = NO_BOS,
                spacing: int = 1, following: int | None = None) -> PrefixContext:
        """Full-context laws at n_targets positions, `spacing` apart and ending at the last one
        (spacing 1: the last n_targets positions), and attention scores if asked. `following`: the
        text's token after the prefix, the actual next token of the last target (excess NLL).

        With a `bos` (validation.data.bos.Bos, resolved), tokens[0] is its token, which every kept
        context keeps (see PrefixContext)."""
        torch = _torch()
        from transformers import DynamicCache

        tokens = np.asarray(tokens, dtype=np.int64)
        L = tokens.size
        if isinstance(spacing, bool) or not isinstance(spacing, (int, np.integer)) or spacing < 1:
            raise ValueError(f"target spacing must be a whole number >= 1; got {spacing!r}")
        if not 1 <= n_targets or L - 1 - (n_targets - 1) * spacing < int(bos):
            raise ValueError(f"{n_targets} targets {spacing} apart do not fit a prefix of {L} tokens"
                             + (" after its BOS" if bos else ""))
        if self.lm.max_positions and L > self.lm.max_positions:
            raise ValueError(f"prefix of {L} tokens exceeds the model's context of {self.lm.max_positions} positions")
        targets = tuple(range(L - 1 - (n_targets - 1) * spacing, L, spacing))
        keep = n_targets if spacing == 1 else torch.as_tensor(targets, device=self.device)
        ids = torch.as_tensor(tokens, device=self.device)[None]
        pos = torch.arange(L, device=self.device)[None]
        causal = torch.ones(L, L, dtype=torch.bool, device=self.device).tril_()[None]
        cache = DynamicCache()  # no config: every layer keeps all its entries (evict reads them)
        attention = None
        if scores:
            attention, logits = self._forward_with_attention(ids, pos, causal, keep, cache)
        else:
            logits = self._logits(ids, pos, causal, keep, cache=cache)
        logp = torch.log_softmax(logits[0].double(), dim=-1)
        prefill = [(layer.keys, layer.values) for layer in cache.layers]
        actual = [int(tokens[t + 1]) if t + 1 < L else (-1 if following is None else int(following)) for t in targets]
        return PrefixContext(tokens, targets, FullSide(logp, self.mus, actual), attention, bos=bos, _prefill=prefill)

    @staticmethod
    def consecutive(ctx: PrefixContext) -> bool:
        """Whether the targets are the last positions of the prefix, one after another."""
        return ctx.targets[0] == ctx.tokens.size - len(ctx.targets)

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


    def _rows(self, ctx: PrefixContext, chunks: Iterable) -> list[dict]:
        """Rows from a stream of ([(t, k), ...], logits (n, V)) chunks, sorted by (t, k)."""
        index = {t: i for i, t in enumerate(ctx.targets)}
        rows = []
        for keys, logits in chunks:
            div = ctx.full.compare([index[t] for t, _ in keys], logits)
            for j, (t, k) in enumerate(keys):
                rows.append({"t": t, "budget": k, **{name: float(v[j]) for name, v in div.items()}})
        return sorted(rows, key=lambda r: (r["t"], r["budget"]))

