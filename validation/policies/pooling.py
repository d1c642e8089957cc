"""Pooled summaries: recent entries exact, older ones mean-pooled in blocks (compressive memory).

With S = k - 1 slots after the sinks and c text entries before the query, the
S - floor(S/2) most recent entries stay exact and the floor(S/2) other slots hold
blocks of the entries before them, one entry per block: the mean key and value of
its positions, at the block's last position, of mass its size (attending with
+ log size, validation.policies.summaries):

    pooled      blocks of `block` consecutive positions aligned from the first text
                position after the sinks; the floor(S/2) most recent kept, older dropped.
                It reaches back floor(S/2) block positions before the window.
    multiscale  blocks that grow with age, an exponential histogram (Datar, Gionis,
                Indyk and Motwani, 2002): each entry leaving the window joins a block of
                up to `block` positions; when a third block of one size forms, the two
                oldest of that size merge into one of twice the size; when there are more
                than floor(S/2) blocks, the oldest is dropped. Sizes are block x 2^j, at
                most two of each, older never smaller than newer, so floor(S/2) slots
                reach back about 2 block (2^(S/4) - 1) positions: memory grows with the
                logarithm of the span covered.

Both are streaming: the blocks after one more entry are the blocks before it, grown
by that entry, merged pairwise or dropped, so a decoder can carry them (online mode).
A block's mass is implied by its positions; memory is one full-precision entry per
block, as for the exact entries.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from validation.policies.base import whole
from validation.policies.summaries import CacheSummary
from wzbounds.memory import KVGeometry


class PooledSummary(CacheSummary):
    """A recent window of S - floor(S/2) exact entries and, before it, mean-pooled `blocks` (one entry
    each, of mass its size, at its last position); subclasses say which blocks."""

    @abstractmethod
    def blocks(self, c: int, slots: int) -> Sequence[tuple[int, int]]:
        """The kept blocks, oldest first, as [start, end) text indices (after the sinks), for c text
        entries and S = slots."""

    def saturated(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> bool:
        """True when the blocks reach back to the first text position after the sinks: more memory
        then buys precision (more recent entries unpooled), no longer reach."""
        _, slots, c = self.split(t, budget, bos)
        spans = self.blocks(c, slots)
        return slots >= c or (bool(spans) and spans[0][0] == 0)

    def _rewrite(self, K, V, slots, s0):
        import torch

        G, c, _ = K.shape
        r = slots - slots // 2
        spans = self.blocks(c, slots)
        pooled_k = [K[:, a:b].mean(1) for a, b in spans]
        pooled_v = [V[:, a:b].mean(1) for a, b in spans]
        Kn = torch.cat([torch.stack(pooled_k, 1), K[:, c - r :]], 1) if spans else K[:, c - r :]
        Vn = torch.cat([torch.stack(pooled_v, 1), V[:, c - r :]], 1) if spans else V[:, c - r :]
        mass = torch.tensor([b - a for a, b in spans] + [1] * r, dtype=V.dtype, device=V.device).expand(G, -1)
        positions = torch.tensor([s0 + b - 1 for _, b in spans] + list(range(s0 + c - r, s0 + c)), device=K.device)
        return Kn, Vn, mass, positions

    def cache_bytes(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> float:
        """The sinks, the recent entries, the blocks, the query and the BOS, at full precision each."""
        head, slots, c = self.split(t, budget, bos)
        if slots >= c:
            return super().cache_bytes(t, budget, kv, bos)
        entries = head + (slots - slots // 2) + len(self.blocks(c, slots)) + 1 + int(bos)
        return float(kv.cache_bytes(entries))


@dataclass(frozen=True)
class PooledBlocks(PooledSummary):
    """A recent window plus mean-pooled blocks of `block` positions before it (compressive memory)."""

    block: int = 8
    name: ClassVar[str] = "pooled"

    def __post_init__(self) -> None:
        super().__post_init__()
        whole(self, "block", 1)

    def blocks(self, c: int, slots: int) -> list[tuple[int, int]]:
        """The floor(S/2) most recent blocks of `block` positions (aligned from the first text
        position) before the window."""
        old_end = c - (slots - slots // 2)
        if old_end <= 0 or slots // 2 == 0:
            return []
        last = (old_end - 1) // self.block
        first = max(0, last - slots // 2 + 1)
        return [(b * self.block, min((b + 1) * self.block, old_end)) for b in range(first, last + 1)]


@dataclass(frozen=True)
class MultiScale(PooledSummary):
    """A recent window plus blocks that grow with age (an exponential histogram); see the module docstring."""

    block: int = 4
    name: ClassVar[str] = "multiscale"

    def __post_init__(self) -> None:
        super().__post_init__()
        whole(self, "block", 1)

    def blocks(self, c: int, slots: int) -> tuple[tuple[int, int], ...]:
        """The blocks after the c - r entries before the recent window (r = S - floor(S/2)) have left
        it one at a time."""
        return histogram(max(0, c - (slots - slots // 2)), self.block, slots // 2)


_HISTOGRAMS: dict[tuple[int, int], list[tuple[tuple[int, int], ...]]] = {}


def histogram(n: int, block: int, most: int) -> tuple[tuple[int, int], ...]:
    """The exponential histogram's blocks, oldest first ([start, end) indices), after entries
    0..n-1 arrived one at a time: each arrival grows the newest block while it is short of
    `block` positions, else opens a new one; a completed block cascades (three of one size: the
    two oldest merge); more than `most` blocks: the oldest is dropped. Memoised by (block, most)."""
    if most <= 0 or n <= 0:
        return ()
    memo = _HISTOGRAMS.setdefault((block, most), [()])
    while len(memo) <= n:
        memo.append(_arrive(memo[-1], len(memo) - 1, block, most))
    return memo[n]


def _arrive(spans: tuple[tuple[int, int], ...], j: int, block: int, most: int) -> tuple[tuple[int, int], ...]:
    """The blocks after entry j arrives (see `histogram`)."""
    out = list(spans)
    if out and out[-1][1] - out[-1][0] < block:
        out[-1] = (out[-1][0], j + 1)
    else:
        out.append((j, j + 1))
    if out[-1][1] - out[-1][0] == block:
        size = block
        while True:
            same = [i for i, (a, b) in enumerate(out) if b - a == size]
            if len(same) <= 2:
                break
            first, second = same[0], same[1]  # adjacent: sizes never grow toward the present
            out[first : second + 1] = [(out[first][0], out[second][1])]
            size *= 2
    if len(out) > most:
        del out[: len(out) - most]
    return tuple(out)
