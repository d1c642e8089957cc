"""Summaries carried through decoding: online mode for streaming summaries.

Decoding token by token from position 0, the query x_i reads the summary
(`CacheSummary.summarise`) of the entries computed at steps 0..i-1, each computed in
turn against the summary of its own past, every entry at its position id and with its
multiplicity; its own entry, computed there, joins them. What the summary kept of an
evicted token thus travels on through every later entry, as in a decoder that carries
the summary. A streaming summary (validation.policies.summaries) is a function of those
entries that such a decoder can update in place as each arrives, so recomputing it
from the entries at every step gives what the decoder holds.

Up to step budget + bos - 1 every summary is the cache itself, so decoding starts
there from the full-context entries. The rows of one forward per step are (policy,
budget) pairs, several policies at once (`carry`): a step's cost is dominated by
reading the weights, so rows are nearly free. Logits are computed at the targets only.
"""

from __future__ import annotations

from collections.abc import Sequence

from validation.engine.forward import Forward
from validation.engine.laws import PrefixContext, _torch


class CarriedSummaries(Forward):
    """carry(ctx, policies, budgets, method): streaming summaries in online mode."""

    def carry(self, ctx: PrefixContext, policies: Sequence, budgets: Sequence[int],
              method: str = "auto") -> list[list[dict]]:
        """Rows of online mode for each streaming summary in `policies`, at every budget.

        method "batched" (and "auto"): every (policy, budget) a row of one forward per step;
        "tokens": one (policy, budget) at a time, the reference."""
        if method not in ("auto", "batched", "tokens"):
            raise ValueError(f"method must be 'auto', 'batched' or 'tokens' for a summary; got {method!r}")
        for policy in policies:
            if policy.kind != "summary" or "online" not in policy.modes:
                raise ValueError(f"{policy.name!r} is not a streaming summary: it cannot be carried through decoding")
        pairs = [(p, int(k)) for p, _ in enumerate(policies) for k in sorted({int(k) for k in budgets})]
        groups = [pairs] if method != "tokens" else [[pair] for pair in pairs]
        chunks: list[list] = [[] for _ in policies]
        for group in groups:
            for (p, k), (t, logits) in self._decode(ctx, [(policies[p], k) for p, k in group], group):
                chunks[p].append(([(t, k)], logits))
        return [self._rows(ctx, chunk) for chunk in chunks]

    def _decode(self, ctx: PrefixContext, rows, labels):
        """Decode the prefix with one row per (policy, budget) in `rows`; yields (label, (t, logits
        (1, V))) at every target."""
        torch = _torch()
        layers = self._prefill(ctx)
        ids = torch.as_tensor(ctx.tokens, device=self.device)
        targets, last = set(ctx.targets), ctx.targets[-1]
        start = min(min(k for _, k in rows) + int(ctx.bos), last)  # the first step whose summary rewrites
        prefix_k = torch.stack([key[0, :, : last + 1] for key, _ in layers])  # (layers, H, steps, D)
        prefix_v = torch.stack([val[0, :, : last + 1] for _, val in layers])
        entries = [(prefix_k.clone(), prefix_v.clone()) for _ in rows]  # from `start` on, overwritten step by step
        nothing = torch.empty(0, dtype=torch.long, device=self.device)
        for i in range(start, last + 1):
            states = [policy.summarise_stacked(K, V, i, k, ctx.bos) for (K, V), (policy, k) in zip(entries, rows)]
            logits, new = self._step(ids[i], i, states, keep=1 if i in targets else nothing)
            for (K, V), (k_new, v_new) in zip(entries, new):
                K[:, :, i], V[:, :, i] = k_new, v_new
            if i in targets:
                for b, label in enumerate(labels):
                    yield label, (i, logits[b : b + 1, -1])

    def _step(self, token, i: int, states, keep):
        """One decoding step of x_i at position i, one row per summary state (each left-aligned,
        padding masked): the logits (rows, kept, V) and, per row, each layer's new (key, value)
        entry, stacked over layers (n_layers, H, D)."""
        torch = _torch()
        from transformers import DynamicCache

        B, m = len(states), max(s.size for s in states)
        allowed = torch.zeros(B, 1, m + 1, dtype=torch.bool, device=self.device)
        allowed[:, :, m] = True
        key_pos = torch.zeros(B, m, dtype=torch.long, device=self.device)
        n_layers = len(states[0].keys)
        keys = [s0.new_zeros(B, s0.shape[1], m, s0.shape[3]) for s0 in states[0].keys]
        values = [s0.new_zeros(B, s0.shape[1], m, s0.shape[3]) for s0 in states[0].values]
        log_mass = None
        if any(s.log_mass is not None for s in states):
            heads = states[0].keys[0].shape[1]
            log_mass = torch.zeros(B, n_layers, heads, m, dtype=values[0].dtype, device=self.device)
        for b, s in enumerate(states):
            n = s.size
            allowed[b, :, :n] = True
            key_pos[b, :n] = s.positions
            for layer in range(n_layers):
                keys[layer][b, :, :n] = s.keys[layer][0]
                values[layer][b, :, :n] = s.values[layer][0]
            if s.log_mass is not None:
                log_mass[b, ..., :n] = s.log_mass
        cache = DynamicCache(ddp_cache_data=list(zip(keys, values))) if m else DynamicCache()
        pos = torch.full((B, 1), i, dtype=torch.long, device=self.device)
        logits = self._logits(token.reshape(1, 1).expand(B, 1), pos, allowed, keep, key_pos=key_pos if m else None,
                              cache=cache, log_mass=log_mass if m else None)
        new_k = torch.stack([layer.keys[:, :, -1] for layer in cache.layers], dim=1)  # (B, layers, H, D)
        new_v = torch.stack([layer.values[:, :, -1] for layer in cache.layers], dim=1)
        return logits, list(zip(new_k, new_v))
