"""Quantized summaries: entries kept at low precision, as KIVI stores them (Liu et al., 2024).

Keys are quantized per channel over groups of `group` consecutive tokens, values per
token over groups of `group` channels, each group with a scale and a minimum in the
model's precision (`fake_quantize`: asymmetric, round to nearest, 2^bits levels). With
S = k - 1 slots after the sinks and c text entries before the query:

    quantized   a tail: the S - floor(S/2) most recent entries at full precision; the
                bytes of the floor(S/2) other slots buy the entries just before them at
                `bits` bits (key groups aligned from the tail's start); older entries are
                dropped. Memory grows with k alone. Not streaming: the tail's start, and
                with it every key group, moves one position each step.
    kivi        KIVI's cache: every entry kept. A residual window of at least S recent
                entries at full precision; every entry before it at `bits` bits, in key
                groups of `group` tokens aligned from the first text position after the
                sinks, quantized once complete (so the residual holds S to S + group - 1
                entries). Memory grows with the context (bits per entry) plus k full
                entries. Streaming: a group, once quantized, never changes. Its reach is
                always the whole prefix (`saturated`): its distortion measures precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from validation.policies.base import whole
from validation.policies.summaries import CacheSummary
from wzbounds.memory import KVGeometry


@dataclass(frozen=True)
class QuantizedTail(CacheSummary):
    """A recent window at full precision and, before it, entries at `bits` bits (KIVI style)."""

    bits: int = 2
    group: int = 32
    name: ClassVar[str] = "quantized"
    streaming: ClassVar[bool] = False  # its key groups start where the tail starts, which moves every step

    def __post_init__(self) -> None:
        super().__post_init__()
        check_code(self)

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


@dataclass(frozen=True)
class Kivi(CacheSummary):
    """Every entry kept: a full-precision residual window and the rest at `bits` bits (KIVI)."""

    bits: int = 2
    group: int = 32
    name: ClassVar[str] = "kivi"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_code(self)

    def quantized(self, c: int, slots: int) -> int:
        """How many of the c text entries are quantized: the complete key groups before the S
        most recent entries, group x floor((c - S) / group)."""
        return self.group * (max(0, c - slots) // self.group)

    def saturated(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> bool:
        """Always: every entry is kept, so more memory buys precision, never reach."""
        return True

    def _rewrite(self, K, V, slots, s0):
        import torch

        G, c, D = K.shape
        q = self.quantized(c, slots)
        if q == 0:
            return K, V, None, torch.arange(s0, s0 + c, device=K.device)
        Kq = torch.cat([fake_quantize(chunk, self.bits, dim=1) for chunk in K[:, :q].split(self.group, 1)], 1)
        Vq = torch.cat([fake_quantize(chunk, self.bits, dim=2) for chunk in V[:, :q].split(self.group, 2)], 2)
        return torch.cat([Kq, K[:, q:]], 1), torch.cat([Vq, V[:, q:]], 1), None, torch.arange(s0, s0 + c, device=K.device)

    def cache_bytes(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> float:
        """Full-precision entries (sinks, residual, query, BOS) plus the quantized ones' codes and
        parameters: per KV head and layer, q (2 D bits/8 + 2 e ceil(D/group)) + (q/group) 2 e D."""
        head, slots, c = self.split(t, budget, bos)
        q = self.quantized(c, slots)
        if q == 0:
            return super().cache_bytes(t, budget, kv, bos)
        e, D = kv.bytes_per_element, kv.head_dim
        full = kv.cache_bytes(head + (c - q) + 1 + int(bos))
        per_head = q * (2 * D * self.bits / 8 + 2 * e * math.ceil(D / self.group)) + (q // self.group) * 2 * e * D
        return float(full + per_head * kv.n_layers * kv.n_kv_heads)


def check_code(policy) -> None:
    """Refuse a code that is not 1..16 bits in groups of at least 1, naming the policy and field."""
    whole(policy, "bits", 1)
    whole(policy, "group", 1)
    if policy.bits > 16:
        raise ValueError(f"{policy.name}: bits must be at most 16; got {policy.bits}")


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
