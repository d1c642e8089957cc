"""Online mode: token-by-token decoding from position 0, evicting after every step.

StreamingLLM style, for policies with a static kept set; on full-attention models
one forward under the mask whose row j is the kept set at step j; the token-by-token
decoder is the reference. Streaming summaries are carried through decoding
(validation.engine.carried).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from validation.engine.carried import CarriedSummaries
from validation.engine.laws import PrefixContext, _torch

if TYPE_CHECKING:
    from validation.policies.base import CachePolicy


class OnlineMode(CarriedSummaries):
    """online(ctx, policy, budgets, method)"""

    def online(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int], method: str = "auto") -> list[dict]:
        """Decode token by token from position 0, evicting after every step so that the next
        query sees at most `budget` tokens (itself included), positions preserved. Policies
        with a static online kept set only (`static_online`: sliding, sink).

        method "masked" (and "auto"): one forward per batch of budgets under the mask whose row
        j is the kept set at step j (see `_online_masked`); "tokens": the token-by-token decoder
        with cache eviction, the reference. Streaming summaries are carried through decoding
        (`CarriedSummaries.carry`, methods "batched" and "tokens")."""
        if policy.kind == "summary" and "online" in policy.modes:
            if method not in ("auto", "batched", "tokens"):
                raise ValueError(f"method must be 'auto', 'batched' or 'tokens' for a summary; got {method!r}")
            return self.carry(ctx, [policy], budgets, method)[0]
        if policy.kind == "summary":
            raise ValueError(f"summary {policy.name!r} cannot be carried through decoding (it is not streaming: "
                             "see validation.policies.summaries); it runs in evict mode")
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
            if not self.consecutive(ctx):  # up to len(batch) x n_t columns kept: the same logits memory
                per = max(1, int(per**0.5))
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
            keys = [(t, k) for k, _, _ in batch for t in ctx.targets]
            if self.consecutive(ctx):
                logits = self._logits(ids, pos, allowed, n_t)  # the targets are the last n_t rows of each
                yield keys, logits.reshape(-1, logits.shape[-1])
                continue
            # spaced targets: their columns in each row (left-padded cones), kept once for the batch
            where = [width - rows.size + np.searchsorted(rows, ctx.targets) for _, rows, _ in batch]
            columns = np.unique(np.concatenate(where))
            logits = self._logits(ids, pos, allowed, torch.as_tensor(columns, device=self.device))
            r_idx = [r for r in range(len(batch)) for _ in ctx.targets]
            c_idx = np.concatenate([np.searchsorted(columns, w) for w in where]).tolist()
            yield keys, logits[r_idx, c_idx]

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
