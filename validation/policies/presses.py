"""kvpress presses as cache policies: `kvpress:SnapKVPress`, `kvpress:AdaKVPress,press=SnapKVPress`.

A press compresses the cache while the model prefills x_0..x_{t-1} (its
forward hooks score and prune, kvpress's own code); then x_t runs against the
compressed cache and its next-token law is compared with the full-context law
(evict mode). A budget of k entries (the query's own included, the BOS
outside, as for every policy) asks the press to keep k - 1 (+ BOS) of the t
prefix entries: compression_ratio = 1 - (kept + 1/4) / t, which kvpress's
n_kept = int(t (1 - ratio)) and PyramidKV's round(t (1 - ratio)) both turn into
exactly `kept`; a budget covering the prefix is ratio 0, the uncompressed cache.
A chunked press (ChunkKV) keeps whole chunks, so its chunk is capped at `kept`
entries: a longer chunk would keep more than the budget. Memory is counted with
kvpress's own arithmetic per layer (`kept_per_layer`: PyramidKV's per-layer
budgets, ChunkKV's whole chunks), plus the query; presses that keep pruned entries
allocated and masked (AdaKV, KVzip...) use more memory than that.

kvpress's defaults are set for contexts of thousands of tokens (SnapKV observes the
last 64 queries; LagKV's lag is 128). `for_prefix(spec, prefix_length)` scales every
window-like parameter the spec leaves unset, of the press and of its inner press
(`press.window_size=8` sets an inner press's), by prefix_length / 4096, and sets
PyramidKV's beta so that its per-layer budgets form a pyramid at every ratio up to
90% (kvpress falls back to SnapKV's uniform budget when the smallest layer's would
be under its window): the arena runs its presses configured so.

kvpress is optional (`pip install wzbounds[kvpress]`; it pins transformers
below 5.3, so it lives in its own environment: `bash dev.sh arena`). A press
whose files would come from a model hub (QFilter, KVzap, ...) cannot run here:
presses run with the hub offline and fail in one line.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from validation.policies.base import Policy, typed_value
from wzbounds.memory import KVGeometry

# Presses that run on a float32 CPU model with no hub files, no eager attention and no extra
# inputs (measured on SmolLM2-135M with kvpress 0.5.5): the leaderboard's default field.
DEFAULT_PRESSES = (
    "StreamingLLMPress", "SnapKVPress", "TOVAPress", "KnormPress", "ExpectedAttentionPress", "RandomPress",
    "PyramidKVPress", "KeyDiffPress", "LagKVPress", "CURPress", "LeverageScorePress", "NonCausalAttnPress",
    "AdaKVPress,press=ExpectedAttentionPress", "ChunkKVPress,press=SnapKVPress",
)


def kvpress_module():
    """The kvpress package, imported with the model hub offline; a clear error if absent."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import kvpress
    except ImportError:
        raise ValueError("kvpress is not installed: `pip install wzbounds[kvpress]` (it needs transformers < 5.3), "
                         "or run `bash dev.sh arena`, which sets up that environment") from None
    return kvpress


REFERENCE_CONTEXT = 4096  # the context kvpress's window-like defaults are scaled from
SCALED = ("window_size", "lag_size", "chunk_size", "n_future_positions", "local_window_size")


@dataclass(frozen=True)
class KvPress(Policy):
    """A kvpress press by class name with keyword arguments (`params`: (name, value) pairs);
    a wrapper press's `press=` names the inner press, built with its defaults."""

    press: str = "StreamingLLMPress"
    params: tuple[tuple[str, Any], ...] = ()
    name: ClassVar[str] = "kvpress"
    kind: ClassVar[str] = "press"

    def __post_init__(self) -> None:
        cls = self._press_class(self.press)
        inner = dict(self.params).get("press")
        for key, _ in self.params:
            owner, name = (inner, key.removeprefix("press.")) if key.startswith("press.") else (self.press, key)
            known = _fields(self._press_class(owner)) if isinstance(owner, str) else set()
            if name not in known or name == "compression_ratio":
                allowed = ", ".join(sorted(known - {"compression_ratio"})) or "none"
                what = owner if isinstance(owner, str) else f"{self.press}'s inner press (none named: press=...)"
                raise ValueError(f"kvpress:{self.press}: {key!r} is not a parameter of {what} "
                                 f"(the budget sets compression_ratio; parameters: {allowed})")
        if not _fields(cls):
            raise ValueError(f"kvpress:{self.press} is not a dataclass press")
        self.build(0.0)  # a wrong value or a missing inner press fails here, before any measurement

    @staticmethod
    def _press_class(name: str):
        kvpress = kvpress_module()
        cls = getattr(kvpress, name, None)
        if not (isinstance(cls, type) and name.endswith("Press")):
            known = ", ".join(n for n in dir(kvpress) if n.endswith("Press"))
            raise ValueError(f"kvpress has no press {name!r}; presses: {known}")
        return cls

    @classmethod
    def from_spec(cls, spec: str, rest: str) -> KvPress:
        """`kvpress:Name` or `kvpress:Name,key=value,...` (values typed by the press's defaults;
        `press=Inner` builds the inner press of a wrapper)."""
        items = [p.strip() for p in rest.split(",") if p.strip()]
        if not items or "=" in items[0]:
            raise ValueError(f"policy spec {spec!r}: name the press, e.g. kvpress:SnapKVPress or "
                             "kvpress:SnapKVPress,window_size=32")
        defaults = _defaults(cls._press_class(items[0]))
        pairs = []
        for item in items[1:]:
            key, eq, value = (s.strip() for s in item.partition("="))
            if not eq:
                raise ValueError(f"policy spec {spec!r}: {item!r} is not key=value")
            pairs.append((key, value))
        inner = dict(pairs).get("press")
        inner_defaults = _defaults(cls._press_class(inner)) if inner else {}
        params = []
        for key, value in pairs:
            default = inner_defaults.get(key.removeprefix("press.")) if key.startswith("press.") else defaults.get(key)
            params.append((key, value if key == "press" else typed_value(spec, key, value, default)))
        return cls(items[0], tuple(params))

    def build(self, compression_ratio: float):
        """A fresh press instance at this compression ratio."""
        kvpress = kvpress_module()
        kwargs = {k: (getattr(kvpress, v)() if k == "press" and isinstance(v, str) else v) for k, v in self.params
                  if not k.startswith("press.")}
        try:
            press = getattr(kvpress, self.press)(**kwargs)
        except TypeError as exc:
            raise ValueError(f"kvpress:{self.press}: {exc} (a wrapper press needs press=<InnerPress>)") from None
        for key, value in self.params:
            if key.startswith("press."):
                setattr(press.press, key.removeprefix("press."), value)
        if not hasattr(press, "compression_ratio"):
            raise ValueError(f"kvpress:{self.press} has no compression_ratio: it does not evict tokens by a budget")
        try:
            press.compression_ratio = float(compression_ratio)
        except AttributeError:
            raise ValueError(f"kvpress:{self.press}: its compression ratio cannot be set (it compresses "
                             "something other than tokens)") from None
        return press

    @staticmethod
    def compression_ratio(t: int, budget: int, bos: bool = False) -> float:
        """The ratio that keeps budget - 1 text entries (+ BOS) of the t before the query: int() and
        round() of t (1 - ratio) = kept + 1/4 are both `kept`."""
        kept = min(int(budget) - 1, t - int(bos)) + int(bos)
        return 0.0 if kept >= t else 1.0 - (kept + 0.25) / t

    def at(self, t: int, budget: int, bos: bool = False):
        """The press for the query at position t under `budget`: the budget's compression ratio, and
        a chunked press's chunk capped at the entries it is asked to keep."""
        press = self.build(self.compression_ratio(t, budget, bos))
        kept = min(int(budget) - 1, t - int(bos)) + int(bos)
        if getattr(press, "chunk_length", None) is not None and press.chunk_length > kept:
            press.chunk_length = max(1, kept)
        return press

    def kept_per_layer(self, t: int, budget: int, n_layers: int, bos: bool = False) -> list[int]:
        """Entries of the t before the query each layer keeps, by kvpress's own arithmetic: PyramidKV's
        per-layer budgets (`get_layer_budget`), ChunkKV's whole chunks (at most: a layer that picks the
        short last chunk keeps fewer), else int(t (1 - ratio))."""
        ratio = self.compression_ratio(t, budget, bos)
        if ratio == 0:
            return [t] * n_layers
        press = self.at(t, budget, bos)
        if hasattr(press, "get_layer_budget"):
            config = type("Config", (), {"num_hidden_layers": n_layers})()
            return [min(t, int(press.get_layer_budget(type("Layer", (), {"config": config, "layer_idx": i})(), t)))
                    for i in range(n_layers)]
        if getattr(press, "chunk_length", None) is not None:
            chunks = math.ceil(t / press.chunk_length)
            return [min(t, press.chunk_length * max(1, int(chunks * (1 - ratio))))] * n_layers
        return [max(1, int(t * (1 - ratio)))] * n_layers

    def cache_bytes(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> float:
        """The entries each layer keeps (`kept_per_layer`) and the query's own, per layer (a sliding
        layer holds at most its window)."""
        kept = np.asarray(self.kept_per_layer(t, budget, kv.n_layers, bos), dtype=float) + 1
        caps = np.asarray(kv.layer_windows if kv.layer_windows is not None else [np.inf] * kv.n_layers)
        return float(kv.entry_bytes * np.minimum(kept, caps).sum())

    @property
    def label(self) -> str:
        return ",".join([self.press, *(f"{k}={v}" for k, v in self.params)])


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()


def _defaults(cls) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}


def for_prefix(spec: str, prefix_length: int) -> str:
    """A press spec (as after "kvpress:") configured for prefixes of `prefix_length` tokens: every
    window-like parameter (SCALED) the spec leaves unset, of the press and of its inner press, is
    kvpress's default times prefix_length / REFERENCE_CONTEXT (at least 1); PyramidKV's beta, when
    unset, is the largest (at most its default) that keeps every layer's budget at or above the
    window at 90% compression, floor(0.1 (prefix_length - 1) / window), so its budgets form a pyramid."""
    press = KvPress.from_spec(f"kvpress:{spec}", spec)
    given = dict(press.params)
    scale = prefix_length / REFERENCE_CONTEXT
    added = []
    for prefix, name in (("", press.press), ("press.", given.get("press"))):
        if not isinstance(name, str):
            continue
        for key, default in _defaults(KvPress._press_class(name)).items():
            if key in SCALED and f"{prefix}{key}" not in given and isinstance(default, int):
                added.append((f"{prefix}{key}", max(1, round(default * scale))))
    if "beta" in _defaults(KvPress._press_class(press.press)) and "beta" not in given:
        window = dict(added).get("window_size", given.get("window_size", 64))
        beta = _defaults(KvPress._press_class(press.press))["beta"]
        added.append(("beta", max(1, min(beta, int(0.1 * (prefix_length - 1) / window)))))
    return press.label + "".join(f",{k}={v}" for k, v in added)
