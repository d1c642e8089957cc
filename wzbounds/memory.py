"""What a window costs: tokens, bits, and bytes of KV cache.

    tokens       w
    raw bits     w log2 V           (each kept token stored as an index)
    coded bits   w h                (entropy-coded, h the entropy rate in bits/token)
    KV bytes     w * bytes_per_token,
                 bytes_per_token = 2 * n_layers * n_kv_heads * head_dim * bytes_per_element

The factor 2 counts keys and values. Convert with `GIB = 2**30`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import at_least, positive, whole_at_least

GIB = 2**30

BYTES_PER_ELEMENT = {
    "float64": 8.0,
    "float32": 4.0,
    "float16": 2.0,
    "bfloat16": 2.0,
    "float8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}


@dataclass(frozen=True)
class KVGeometry:
    """The KV-cache shape of a transformer: what one cached token costs in bytes."""

    n_layers: int
    n_kv_heads: int
    head_dim: int
    bytes_per_element: float = 2.0
    name: str = ""

    def __post_init__(self) -> None:
        for field in ("n_layers", "n_kv_heads", "head_dim"):
            object.__setattr__(self, field, int(whole_at_least(field, getattr(self, field), 1)))
        object.__setattr__(self, "bytes_per_element", float(positive("bytes_per_element", self.bytes_per_element)))

    @classmethod
    def with_dtype(cls, n_layers: int, n_kv_heads: int, head_dim: int, dtype: str, name: str = "") -> KVGeometry:
        """A geometry whose element size comes from a dtype name such as "bfloat16"."""
        if dtype not in BYTES_PER_ELEMENT:
            raise ValueError(f"dtype must be one of {sorted(BYTES_PER_ELEMENT)}; got {dtype!r}")
        return cls(n_layers, n_kv_heads, head_dim, BYTES_PER_ELEMENT[dtype], name)

    @property
    def bytes_per_token(self) -> float:
        """2 * n_layers * n_kv_heads * head_dim * bytes_per_element."""
        return 2.0 * self.n_layers * self.n_kv_heads * self.head_dim * self.bytes_per_element


GEOMETRIES = {
    "smollm2-135m": KVGeometry(30, 3, 64, 2.0, "SmolLM2-135M (llama, 30 layers, 3 KV heads, head dim 64)"),
    "qwen2.5-0.5b": KVGeometry(24, 2, 64, 2.0, "Qwen2.5-0.5B (24 layers, 2 KV heads, head dim 64)"),
}


def geometry(name: str, dtype: str = "bfloat16") -> KVGeometry:
    """A known model's KV geometry at a given cache dtype (default bfloat16)."""
    if name not in GEOMETRIES:
        raise ValueError(f"unknown model geometry {name!r}; known: {sorted(GEOMETRIES)}")
    g = GEOMETRIES[name]
    return KVGeometry.with_dtype(g.n_layers, g.n_kv_heads, g.head_dim, dtype, g.name)


@dataclass(frozen=True)
class CacheMemory:
    """The memory of windows of `tokens` tokens in every unit that applies (None if not)."""

    tokens: NDArray[np.float64]
    raw_bits: NDArray[np.float64] | None
    coded_bits: NDArray[np.float64] | None
    kv_bytes: NDArray[np.float64] | None

    @property
    def kv_gib(self) -> NDArray[np.float64] | None:
        return None if self.kv_bytes is None else self.kv_bytes / GIB


def cache_memory(
    window: ArrayLike,
    *,
    V: int | None = None,
    entropy_rate: float | None = None,
    kv: KVGeometry | None = None,
) -> CacheMemory:
    """Memory of a window of w tokens: w, w log2 V bits, w h bits, w * bytes_per_token."""
    w = at_least("window", window, 0.0)
    raw = None if V is None else w * np.log2(float(whole_at_least("V", V, 2)))
    coded = None if entropy_rate is None else w * float(at_least("entropy_rate", entropy_rate, 0.0))
    kv_bytes = None if kv is None else w * kv.bytes_per_token
    return CacheMemory(tokens=w, raw_bits=raw, coded_bits=coded, kv_bytes=kv_bytes)
