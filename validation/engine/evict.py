"""Evict mode: the full prefix is prefilled once; for target t the cache is cut to positions < t.

The policy's entries are kept and x_t runs against them. Kept entries were computed
with the evicted tokens present, so this is NOT suffix-only. On full-attention models
every (t, k) runs in one forward of the queries under a 4D mask over the prefix cache;
one cache edit per pair is the reference. Summaries (merge, pooled, multiscale, quantized, kivi:
validation.policies.summaries) rewrite the cache cut before t and x_t runs against it;
kvpress presses compress while prefilling x_0..x_{t-1} (validation.engine.press).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from validation.engine.laws import PrefixContext, _torch
from validation.engine.press import PressReplay

if TYPE_CHECKING:
    from validation.policies.base import CachePolicy


class EvictMode(PressReplay):
    """evict(ctx, policy, budgets, method): kept sets and summaries; presses in `PressReplay`."""

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
        """Per (t, k): the policy rewrites the prefix cache before t (validation.policies.summaries) and x_t
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

