"""Propagating cache summaries: policies that rewrite the cache instead of choosing a kept set.

A summary spends a budget of k entries' worth of memory (the query's own entry
included, as for every policy) on the prefix cache x_0..x_{t-1}; the query x_t
then runs against the rewritten cache. In evict mode the entries were computed
with the whole prefix present (as in kvpress); in online mode (a streaming
summary) the summary is carried through decoding: every entry is computed against
the summary of the entries before it (validation.engine.online). With S = k - 1
slots for the cache and c text entries before the query:

    merge       merge-on-evict (this module). The cache is a window of the S most recent
                entries; when an entry leaves it, its value is merged into the kept entry
                whose key is most similar (cosine, per layer and KV head):
                v <- (m v + m' v') / (m + m'), masses added. Every evicted entry ends in
                some kept entry, so the S slots summarise the whole past. `bonus` (default
                true): a merged entry attends with + log m (below); without it, as one entry.
                Memory: k entries and an int16 mass per entry, head and layer.
    pooled      pooled blocks of a fixed size (validation.policies.pooling).
    multiscale  pooled blocks that grow with age, an exponential histogram (.pooling).
    quantized   a quantized tail of the entries before the window, older ones dropped
                (validation.policies.quantizers).
    kivi        every entry before a full-precision residual window quantized, as in KIVI
                (.quantizers).

Multiplicities: a merged or pooled entry of mass m stands for m entries; the
attention logit of each query to it gets + log m (validation.engine adds it
per layer and head), so an entry merged with exact copies of itself attends
exactly as the copies did. With k >= c + 1 (the whole prefix fits) every
summary is the cache itself, and the law is the full-context law. A BOS, when
the model has one, stays untouched at position 0, outside the budget; with
`sink=n` (every summary: "merge:sink=4") the first n text entries stay
untouched too, inside the budget, as sink+recent keeps them, and the summary
spends the slots left (S - n) on the entries after them.

Streaming (`CacheSummary.streaming`): the summary of entries 0..c is computed from
the summary of entries 0..c-1 and entry c alone, so a decoder can carry it and update
it in place; only streaming summaries run online. merge (an entry's merge target is
decided when it leaves the window, among keys that never change afterwards), pooled
and multiscale (blocks only ever grow by the entry leaving the window, or merge with
each other, or are dropped) and kivi (a key group is quantized once, when complete)
are; quantized is not (its groups start where its tail starts, one step later each step).

Each summary's memory grows with k alone, never with the context (kivi excepted: it
keeps every entry), so distortion against bytes has the exponent of the policy, not
of a context-sized offset (see docs/arena.md).
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
    streaming: ClassVar[bool] = True
    recorded_when_set: ClassVar[tuple[str, ...]] = ("sink",)  # results before sinks existed resume

    def __post_init__(self) -> None:
        whole(self, "sink", 0)

    @property
    def modes(self) -> tuple[str, ...]:
        """Evict mode, and online mode (carried through decoding) when the summary is streaming."""
        return ("evict", "online") if self.streaming else ("evict",)

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

        if len({(k.shape[1], k.shape[3]) for k, _ in layers}) != 1:
            raise ValueError("summaries need every layer's cache in one shape (KV heads, head dim)")
        n = layers[0][0].shape[-2]
        keys = torch.stack([k[0, :, : min(t, n)] for k, _ in layers])
        values = torch.stack([v[0, :, : min(t, n)] for _, v in layers])
        return self.summarise_stacked(keys, values, t, budget, bos)

    def summarise_stacked(self, keys, values, t: int, budget: int, bos: bool = False) -> CacheState:
        """`summarise` from the prefix cache stacked over layers: keys and values (n_layers, H, n, D),
        n >= t (entries from t on are ignored)."""
        import torch

        if budget < 1:
            raise ValueError(f"budget must be >= 1; got {budget}")
        if t < 1 or t - int(bos) < 0 or keys.shape[-2] < t:
            raise ValueError(f"position {t} is outside the prefix cache of {keys.shape[-2]} entries")
        head, slots, c = self.split(t, budget, bos)
        s0 = int(bos) + head  # the BOS and the sinks, untouched
        L, H = keys.shape[:2]
        if slots >= c:  # the whole prefix fits: the cache itself
            return CacheState(tuple(keys[i, :, :t][None] for i in range(L)),
                              tuple(values[i, :, :t][None] for i in range(L)), None, torch.arange(t, device=keys.device))
        K, V, mass, pos = self._rewrite(keys[:, :, s0:t].flatten(0, 1), values[:, :, s0:t].flatten(0, 1), slots, s0)
        K, V = K.unflatten(0, (L, H)), V.unflatten(0, (L, H))
        out_k = tuple(torch.cat([keys[i, :, :s0], K[i]], dim=1)[None] for i in range(L))
        out_v = tuple(torch.cat([values[i, :, :s0], V[i]], dim=1)[None] for i in range(L))
        log_mass = None
        if mass is not None:
            ones = torch.ones(L * H, s0, dtype=mass.dtype, device=mass.device)
            log_mass = torch.cat([ones, mass], dim=1).log().unflatten(0, (L, H))
        positions = torch.cat([torch.arange(s0, device=pos.device), pos])
        return CacheState(out_k, out_v, log_mass, positions)

    @abstractmethod
    def _rewrite(self, K, V, slots: int, s0: int):
        """From the text entries K, V (G, c, D) (G = layers x heads; entry j at position s0 + j),
        with slots < c: the summary's (K', V', mass (G, m) or None, positions (m,))."""


@dataclass(frozen=True)
class MergeOnEvict(CacheSummary):
    """Merge-on-evict: a window of S entries; each evicted value merged into its most similar kept key.

    bonus: a merged entry of mass m attends with + log m (as m copies); without it, as one entry
    (its value still the mean of what it absorbed)."""

    bonus: bool = True
    name: ClassVar[str] = "merge"
    recorded_when_set: ClassVar[tuple[str, ...]] = ("sink", "bonus")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.bonus, bool):
            raise ValueError(f"merge: bonus must be true or false; got {self.bonus!r}")

    def _rewrite(self, K, V, slots, s0):
        import torch

        G, c, _ = K.shape
        r = slots
        positions = torch.arange(s0 + c - r, s0 + c, device=K.device)
        if r == 0:
            return K[:, :0], V[:, :0], None, positions
        parent = merge_targets(K, r)
        root = roots(parent)
        ones = torch.ones_like(root, dtype=V.dtype)
        counts = torch.zeros(G, c, dtype=V.dtype, device=V.device).scatter_add_(1, root, ones)
        sums = torch.zeros_like(V).scatter_add_(1, root[..., None].expand(-1, -1, V.shape[-1]), V)
        kept = slice(c - r, c)
        return K[:, kept], sums[:, kept] / counts[:, kept, None], counts[:, kept] if self.bonus else None, positions

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
