"""What a window costs: tokens, bits, and bytes of KV cache.

    tokens       w
    raw bits     w log2 V           (each kept token stored as an index)
    coded bits   w h                (entropy-coded, h the entropy rate in bits/token)
    KV bytes     entry_bytes * sum over layers l of min(w, W_l),
                 entry_bytes = 2 * n_kv_heads * head_dim * bytes_per_element

W_l is layer l's sliding window (inf for a global layer): a sliding-window layer
(Gemma 3: 5 of every 6 layers at 512 positions; Mistral: every layer; Qwen2:
the layers from max_window_layers on, when use_sliding_window) never holds more
than W_l entries, whatever the window. With every layer global this is
w * bytes_per_token, bytes_per_token = 2 * n_layers * n_kv_heads * head_dim *
bytes_per_element. The factor 2 counts keys and values. Convert with `GIB = 2**30`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import as_float_array, at_least, positive, whole_at_least

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
    """The KV-cache shape of a transformer: what a cache of w tokens costs in bytes.

    layer_windows: each layer's sliding window in positions (inf for a global layer), or
    None when every layer is global. A sliding layer holds at most its window of entries."""

    n_layers: int
    n_kv_heads: int
    head_dim: int
    bytes_per_element: float = 2.0
    name: str = ""
    layer_windows: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for field in ("n_layers", "n_kv_heads", "head_dim"):
            object.__setattr__(self, field, int(whole_at_least(field, getattr(self, field), 1)))
        object.__setattr__(self, "bytes_per_element", float(positive("bytes_per_element", self.bytes_per_element)))
        if self.layer_windows is not None:
            arr = as_float_array("layer_windows", self.layer_windows).ravel()
            if (arr < 1).any():
                raise ValueError(f"layer_windows must be >= 1 (inf for a global layer); got {arr.min():g}")
            windows = tuple(float(x) for x in arr)
            if len(windows) != self.n_layers:
                raise ValueError(f"layer_windows must give one window per layer ({self.n_layers}); got {len(windows)}")
            object.__setattr__(self, "layer_windows", None if all(np.isinf(windows)) else windows)

    @classmethod
    def with_dtype(cls, n_layers: int, n_kv_heads: int, head_dim: int, dtype: str, name: str = "",
                   layer_windows: tuple[float, ...] | None = None) -> KVGeometry:
        """A geometry whose element size comes from a dtype name such as "bfloat16"."""
        if dtype not in BYTES_PER_ELEMENT:
            raise ValueError(f"dtype must be one of {sorted(BYTES_PER_ELEMENT)}; got {dtype!r}")
        return cls(n_layers, n_kv_heads, head_dim, BYTES_PER_ELEMENT[dtype], name, layer_windows)

    @classmethod
    def sliding(cls, n_layers: int, n_kv_heads: int, head_dim: int, dtype: str, *, window: int,
                sliding_layers: int, name: str = "") -> KVGeometry:
        """`sliding_layers` of the layers slide at `window` positions, the others are global (which
        ones does not change the memory)."""
        n = int(whole_at_least("sliding_layers", sliding_layers, 0))
        if n > n_layers:
            raise ValueError(f"sliding_layers must be at most n_layers ({n_layers}); got {n}")
        w = float(whole_at_least("window", window, 1))
        return cls.with_dtype(n_layers, n_kv_heads, head_dim, dtype, name, (w,) * n + (np.inf,) * (n_layers - n))

    @property
    def entry_bytes(self) -> float:
        """One cached token in one layer: 2 * n_kv_heads * head_dim * bytes_per_element (keys and values)."""
        return 2.0 * self.n_kv_heads * self.head_dim * self.bytes_per_element

    @property
    def bytes_per_token(self) -> float:
        """2 * n_layers * n_kv_heads * head_dim * bytes_per_element: one token in every layer, the
        cost of each token while the window is below every sliding window."""
        return self.n_layers * self.entry_bytes

    @property
    def sliding_layers(self) -> int:
        """How many layers slide (0 when every layer is global)."""
        return 0 if self.layer_windows is None else int(np.isfinite(self.layer_windows).sum())

    def cache_bytes(self, window: ArrayLike) -> NDArray[np.float64]:
        """KV bytes of a cache of w tokens: entry_bytes * sum over layers of min(w, W_l) (w may be
        inf: a window beyond float64 costs inf bytes when any layer is global)."""
        w = as_float_array("window", window)
        if (w < 0).any():
            raise ValueError(f"window must be >= 0; got {w.min():g}")
        if self.layer_windows is None:
            return w * self.bytes_per_token
        caps = np.asarray(self.layer_windows)
        return self.entry_bytes * np.minimum(w[..., None], caps).sum(axis=-1)

    def describe(self) -> str:
        """The geometry in words (layers, heads, sliding layers)."""
        base = f"{self.n_layers} layers x {self.n_kv_heads} KV heads x {self.head_dim}"
        if self.layer_windows is None:
            return base
        windows = sorted({int(x) for x in self.layer_windows if np.isfinite(x)})
        return f"{base}, {self.sliding_layers} of them sliding at {', '.join(map(str, windows))} positions"


GEOMETRIES = {
    "smollm2-135m": KVGeometry(30, 3, 64, 2.0, "SmolLM2-135M (llama, 30 layers, 3 KV heads, head dim 64)"),
    "qwen2.5-0.5b": KVGeometry(24, 2, 64, 2.0, "Qwen2.5-0.5B (24 layers, 2 KV heads, head dim 64)"),
    # Gemma 3 270M: 18 layers, 1 KV head of 256; 5 of every 6 layers slide at 512 positions
    "gemma-3-270m": KVGeometry(18, 1, 256, 2.0, "Gemma-3-270M (18 layers, 1 KV head, head dim 256, 15 sliding at 512)",
                               tuple(np.inf if (i + 1) % 6 == 0 else 512.0 for i in range(18))),
}


def geometry(name: str, dtype: str = "bfloat16") -> KVGeometry:
    """A known model's KV geometry at a given cache dtype (default bfloat16)."""
    if name not in GEOMETRIES:
        raise ValueError(f"unknown model geometry {name!r}; known: {sorted(GEOMETRIES)}")
    g = GEOMETRIES[name]
    return KVGeometry.with_dtype(g.n_layers, g.n_kv_heads, g.head_dim, dtype, g.name, g.layer_windows)


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
    """Memory of a window of w tokens: w, w log2 V bits, w h bits, and the KV bytes
    `kv.cache_bytes(w)` (sliding-window layers capped at their window)."""
    w = at_least("window", window, 0.0)
    raw = None if V is None else w * np.log2(float(whole_at_least("V", V, 2)))
    coded = None if entropy_rate is None else w * float(at_least("entropy_rate", entropy_rate, 0.0))
    kv_bytes = None if kv is None else kv.cache_bytes(w)
    return CacheMemory(tokens=w, raw_bits=raw, coded_bits=coded, kv_bytes=kv_bytes)
