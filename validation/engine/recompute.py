"""Recompute mode: the model runs on the kept tokens only, positions preserved or re-indexed.

Two methods. The naive one runs every kept set as its own sequence (packed several
to a row). The anchored one serves every policy whose kept set is a fixed head H
(empty, or the sinks) plus a contiguous run [s, t]: one forward over H + x_s..x_{L-1}
yields, at every target t >= s, the law with budget |H| + t - s + 1. Anchors are
batched with left padding so all rows end at the last target. The cheaper method
(counted in forward tokens) is used; both give the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from validation.engine.forward import Forward
from validation.engine.laws import PrefixContext, _torch

if TYPE_CHECKING:
    from validation.policies.base import CachePolicy

POSITIONS = ("preserved", "reindexed")


class RecomputeMode(Forward):
    """recompute(ctx, policy, budgets, positions, method)"""

    def recompute(self, ctx: PrefixContext, policy: CachePolicy, budgets: Sequence[int], positions: str,
                  method: str = "auto") -> list[dict]:
        """Rows (t, budget, divergences) for recompute mode; method "auto", "anchored" or "naive"."""
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}; got {positions!r}")
        if "recompute" not in policy.modes:
            raise ValueError(f"policy {policy.name!r} rewrites the cache: it runs in {' and '.join(policy.modes)} "
                             "mode only, never on the kept tokens alone")
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
            keys = [(t, k) for s in batch for t, k in want[s]]
            r_idx = [r for r, s in enumerate(batch) for _ in want[s]]
            if self.consecutive(ctx):
                keep = min(n_t, width)
                logits = self._logits(ids, pos, allowed, keep)  # (rows, keep, V): targets L-keep..L-1
                c_idx = [t - (L - keep) for s in batch for t, _ in want[s]]
            else:  # spaced targets: the columns of those within this batch's widest row
                inside = [t for t in ctx.targets if t >= L - width]
                column = {t: j for j, t in enumerate(inside)}
                logits = self._logits(ids, pos, allowed, torch.as_tensor([width - L + t for t in inside],
                                                                         device=self.device))
                c_idx = [column[t] for s in batch for t, _ in want[s]]
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

