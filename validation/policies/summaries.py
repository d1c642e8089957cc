"""Propagating cache summaries: policies that rewrite the cache instead of choosing a kept set.

A summary spends a budget of k entries' worth of memory (the query's own entry
included, as for every policy) on the prefix cache x_0..x_{t-1}; the query x_t
then runs against the rewritten cache (evict mode: the entries were computed
with the whole prefix present, as in kvpress). With S = k - 1 slots for the
cache and c text entries before the query:

    merge       merge-on-evict. The cache is a window of the S most recent entries; when
                an entry leaves it, its value is merged into the kept entry whose key is
                most similar (cosine, per layer and KV head): v <- (m v + m' v') / (m + m'),
                masses added. Every evicted entry ends in some kept entry, so the S slots
                summarise the whole past. Memory: k entries and an int16 mass per entry,
                head and layer.
    pooled      pooled blocks (compressive memory). The S - floor(S/2) most recent entries
                stay; older entries are mean-pooled (keys and values) in blocks of `block`
                consecutive positions, aligned from the first text position, and the
                floor(S/2) most recent blocks are kept, one entry each (older ones dropped).
                Memory: k entries; a block's mass is its size, implied by its positions.
    quantized   a quantized tail (KIVI style). The S - floor(S/2) most recent entries stay
                in the model's precision; the floor(S/2) remaining slots' bytes are spent on
                the entries before them at `bits` bits: keys quantized per channel over
                groups of `group` tokens, values per token over groups of `group` channels,
                each group with a scale and a minimum in the model's precision. Older
                entries are dropped. Memory: what those codes and parameters take.

Multiplicities: a merged or pooled entry of mass m stands for m entries; the
attention logit of each query to it gets + log m (validation.engine adds it
per layer and head), so an entry merged with exact copies of itself attends
exactly as the copies did. With k >= c + 1 (the whole prefix fits) every
summary is the cache itself, and the law is the full-context law. A BOS, when
the model has one, stays untouched at position 0, outside the budget; with
`sink=n` (every summary: "merge:sink=4") the first n text entries stay
untouched too, inside the budget, as sink+recent keeps them, and the summary
spends the slots left (S - n) on the entries after them.

Each summary's memory grows with k alone, never with the context, so distortion
against bytes has the exponent of the policy, not of a context-sized offset
(see docs/arena.md).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from validation.policies.base import Policy, whole
from wzbounds.memory import KVGeometry

MASS_BYTES = 2  # an int16 mass per merged entry, KV head and layer


@dataclass(frozen=True)
class CacheState:
    """A rewritten prefix cache for one query.

    keys, values: per layer (1, n_kv_heads, m, head_dim); log_mass: (n_layers, n_kv_heads, m),
    the log multiplicity of every entry (None when all are 1); positions: (m,) their position ids."""

    keys: tuple[Any, ...]
    values: tuple[Any, ...]
    log_mass: Any
    positions: Any

    @property
    def size(self) -> int:
        return int(self.positions.numel())


@dataclass(frozen=True)
class CacheSummary(Policy):
    """A policy that rewrites the prefix cache (kind "summary"); see the module docstring.

    sink: the first `sink` text entries are kept whole, inside the budget (attention sinks, as
    sink+recent keeps them); the summary spends the slots left on the entries after them."""

    sink: int = 0
    kind: ClassVar[str] = "summary"
    recorded_when_set: ClassVar[tuple[str, ...]] = ("sink",)  # results before sinks existed resume

    def __post_init__(self) -> None:
        whole(self, "sink", 0)

    @property
    def sinks(self) -> int:
        return self.sink

    def split(self, t: int, budget: int, bos: bool = False) -> tuple[int, int, int]:
        """(h, S, c) for the query at position t: the sinks kept whole (h = min(sink, slots, text
        entries)), the slots S left for the summary, and the text entries c after the sinks."""
        slots, c = int(budget) - 1, t - int(bos)
        h = max(0, min(self.sink, slots, c))
        return h, slots - h, c - h

    def summarise(self, layers: Sequence[tuple[Any, Any]], t: int, budget: int, bos: bool = False) -> CacheState:
        """The cache the query at position t reads under `budget`, from the prefix cache `layers`
        ((keys, values) per layer, (1, H, n, D), n > t - 1; entries from t on are ignored)."""
        import torch

        if budget < 1:
            raise ValueError(f"budget must be >= 1; got {budget}")
        if t < 1 or t - int(bos) < 0 or layers[0][0].shape[-2] < t:
            raise ValueError(f"position {t} is outside the prefix cache of {layers[0][0].shape[-2]} entries")
        head, slots, c = self.split(t, budget, bos)
        s0 = int(bos) + head  # the BOS and the sinks, untouched
        if slots >= c:  # the whole prefix fits: the cache itself
            return CacheState(tuple(k[..., :t, :] for k, _ in layers), tuple(v[..., :t, :] for _, v in layers),
                              None, torch.arange(t, device=layers[0][0].device))
        if len({(k.shape[1], k.shape[3]) for k, _ in layers}) != 1:
            raise ValueError("summaries need every layer's cache in one shape (KV heads, head dim)")
        keys = torch.stack([k[0, :, s0:t] for k, _ in layers])
        values = torch.stack([v[0, :, s0:t] for _, v in layers])
        L, H = keys.shape[:2]
        K, V, mass, pos = self._rewrite(keys.flatten(0, 1), values.flatten(0, 1), slots, s0)
        K, V = K.unflatten(0, (L, H)), V.unflatten(0, (L, H))
        out_k = tuple(torch.cat([k[:, :, :s0], K[i][None]], dim=2) for i, (k, _) in enumerate(layers))
        out_v = tuple(torch.cat([v[:, :, :s0], V[i][None]], dim=2) for i, (_, v) in enumerate(layers))
        log_mass = None
        if mass is not None:
            head = torch.ones(L * H, s0, dtype=mass.dtype, device=mass.device)
            log_mass = torch.cat([head, mass], dim=1).log().unflatten(0, (L, H))
        positions = torch.cat([torch.arange(s0, device=pos.device), pos])
        return CacheState(out_k, out_v, log_mass, positions)

    @abstractmethod
    def _rewrite(self, K, V, slots: int, s0: int):
        """From the text entries K, V (G, c, D) (G = layers x heads; entry j at position s0 + j),
        with slots < c: the summary's (K', V', mass (G, m) or None, positions (m,))."""


@dataclass(frozen=True)
class MergeOnEvict(CacheSummary):
    """Merge-on-evict: a window of S entries; each evicted value merged into its most similar kept key."""

    name: ClassVar[str] = "merge"

    def _rewrite(self, K, V, slots, s0):
        import torch

        G, c, _ = K.shape
        r = slots
        positions = torch.arange(s0 + c - r, s0 + c, device=K.device)
        if r == 0:
            empty = K[:, :0]
            return empty, V[:, :0], torch.ones(G, 0, dtype=V.dtype, device=V.device), positions
        parent = merge_targets(K, r)
        root = roots(parent)
        counts = torch.zeros(G, c, dtype=V.dtype, device=V.device).scatter_add_(1, root, torch.ones_like(root, dtype=V.dtype))
        sums = torch.zeros_like(V).scatter_add_(1, root[..., None].expand(-1, -1, V.shape[-1]), V)
        kept = slice(c - r, c)
        return K[:, kept], sums[:, kept] / counts[:, kept, None], counts[:, kept], positions

    def cache_bytes(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> float:
        """The kept entries (as for a kept set) plus, once entries are merged, an int16 mass per
        merging slot (the sinks have none), KV head and layer."""
        full = super().cache_bytes(t, budget, kv, bos)
        _, slots, c = self.split(t, budget, bos)
        return full + (MASS_BYTES * kv.n_layers * kv.n_kv_heads * slots if slots < c else 0.0)


def merge_targets(K, r: int):
    """parent[g, j]: for an evicted entry j < c - r, the entry it merges into when it leaves the
    window [j+1, j+r], j + argmax_d cos(K_j, K_{j+d}) (the nearest on ties); kept entries point
    to themselves. K: (G, c, D)."""
    import torch

    G, c, _ = K.shape
    e = c - r
    unit = K / K.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(K.dtype).tiny)
    best = torch.full((G, e), -math.inf, dtype=K.dtype, device=K.device)
    arg = torch.ones(G, e, dtype=torch.long, device=K.device)
    for d in range(1, r + 1):
        sim = (unit[:, :e] * unit[:, d : d + e]).sum(-1)
        better = sim > best
        best = torch.where(better, sim, best)
        arg = torch.where(better, d, arg)
    parent = torch.arange(c, device=K.device).expand(G, c).clone()
    parent[:, :e] = torch.arange(e, device=K.device) + arg
    return parent


def roots(parent):
    """Follow parent pointers (parent[j] >= j, fixed points at the roots) to the root of every
    entry, by pointer doubling: log2(depth) gathers."""
    root = parent
    while True:
        nxt = root.gather(-1, root)
        if bool((nxt == root).all()):
            return root
        root = nxt


@dataclass(frozen=True)
class PooledBlocks(CacheSummary):
    """A recent window plus mean-pooled blocks of the entries before it (compressive memory)."""

    block: int = 8
    name: ClassVar[str] = "pooled"

    def __post_init__(self) -> None:
        super().__post_init__()
        whole(self, "block", 1)

    def blocks(self, c: int, slots: int) -> list[tuple[int, int]]:
        """The pooled blocks, oldest first, as [start, end) text indices: the floor(S/2) most recent
        blocks of `block` positions (aligned from the first text position) before the window."""
        old_end = c - (slots - slots // 2)
        if old_end <= 0 or slots // 2 == 0:
            return []
        last = (old_end - 1) // self.block
        first = max(0, last - slots // 2 + 1)
        return [(b * self.block, min((b + 1) * self.block, old_end)) for b in range(first, last + 1)]

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
        """The sinks, the recent entries, the pooled blocks, the query and the BOS, at full precision each."""
        head, slots, c = self.split(t, budget, bos)
        if slots >= c:
            return super().cache_bytes(t, budget, kv, bos)
        entries = head + (slots - slots // 2) + len(self.blocks(c, slots)) + 1 + int(bos)
        return float(kv.cache_bytes(entries))


@dataclass(frozen=True)
class QuantizedTail(CacheSummary):
    """A recent window at full precision and, before it, entries at `bits` bits (KIVI style)."""

    bits: int = 2
    group: int = 32
    name: ClassVar[str] = "quantized"

    def __post_init__(self) -> None:
        super().__post_init__()
        whole(self, "bits", 1)
        whole(self, "group", 1)
        if self.bits > 16:
            raise ValueError(f"quantized: bits must be at most 16; got {self.bits}")

    def quantized_entry_bytes(self, head_dim: int, bytes_per_element: float) -> float:
        """Bytes per quantized token, per KV head and layer, amortized: 2 D bits / 8 of codes, a
        scale and a minimum per value group of the token, and per key channel over `group` tokens."""
        e = bytes_per_element
        return 2 * head_dim * self.bits / 8 + 2 * e * math.ceil(head_dim / self.group) + 2 * e * head_dim / self.group

    def tail(self, c: int, slots: int, head_dim: int, bytes_per_element: float) -> int:
        """How many entries before the window the floor(S/2) slots' bytes buy at `bits` bits."""
        full = 2 * head_dim * bytes_per_element
        buys = int(math.floor((slots // 2) * full / self.quantized_entry_bytes(head_dim, bytes_per_element) + 1e-9))
        return min(buys, c - (slots - slots // 2))

    def saturated(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> bool:
        """True when the quantized tail reaches back to the first text position after the sinks: more
        memory then buys precision (more recent entries at full precision), no longer reach."""
        _, slots, c = self.split(t, budget, bos)
        return slots >= c or (slots - slots // 2) + self.tail(c, slots, kv.head_dim, kv.bytes_per_element) >= c

    def _rewrite(self, K, V, slots, s0):
        import torch

        G, c, D = K.shape
        r = slots - slots // 2
        T = self.tail(c, slots, D, K.element_size())
        lo = c - r - T
        Kq = torch.cat([fake_quantize(chunk, self.bits, dim=1) for chunk in K[:, lo : c - r].split(self.group, 1)], 1) \
            if T else K[:, :0]
        Vq = torch.cat([fake_quantize(chunk, self.bits, dim=2) for chunk in V[:, lo : c - r].split(self.group, 2)], 2) \
            if T else V[:, :0]
        positions = torch.arange(s0 + lo, s0 + c, device=K.device)
        return torch.cat([Kq, K[:, c - r :]], 1), torch.cat([Vq, V[:, c - r :]], 1), None, positions

    def cache_bytes(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> float:
        """Full-precision entries (sinks, window, query, BOS) plus the tail's codes and parameters:
        T (2 D bits/8 + 2 e ceil(D/group)) + ceil(T/group) 2 e D per KV head and layer."""
        head, slots, c = self.split(t, budget, bos)
        if slots >= c:
            return super().cache_bytes(t, budget, kv, bos)
        e, D = kv.bytes_per_element, kv.head_dim
        T = self.tail(c, slots, D, e)
        full = kv.cache_bytes(head + (slots - slots // 2) + 1 + int(bos))
        per_head = T * (2 * D * self.bits / 8 + 2 * e * math.ceil(D / self.group)) + math.ceil(T / self.group) * 2 * e * D
        return float(full + per_head * kv.n_layers * kv.n_kv_heads)


def fake_quantize(x, bits: int, dim: int):
    """Round x to 2^bits levels between its min and max along `dim` (asymmetric, round to
    nearest) and map back: the values an n-bit code with a scale and a minimum stores."""
    import torch

    lo = x.amin(dim=dim, keepdim=True)
    hi = x.amax(dim=dim, keepdim=True)
    levels = 2**bits - 1
    scale = (hi - lo) / levels
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    codes = ((x - lo) / safe).round_().clamp_(0, levels)
    return torch.where(scale > 0, lo + codes * scale, x)
