"""kvpress presses as cache policies: `kvpress:SnapKVPress`, `kvpress:AdaKVPress,press=SnapKVPress`.

A press compresses the cache while the model prefills x_0..x_{t-1} (its
forward hooks score and prune, kvpress's own code); then x_t runs against the
compressed cache and its next-token law is compared with the full-context law
(evict mode). A budget of k entries (the query's own included, the BOS
outside, as for every policy) asks the press to keep k - 1 (+ BOS) of the t
prefix entries: compression_ratio = 1 - (kept + 1/2) / t, which kvpress's
n_kept = int(t (1 - ratio)) turns into exactly `kept`; a budget covering the
prefix is ratio 0, the uncompressed cache. Memory is counted as k entries
(+ BOS), what the press was asked to keep; presses that keep pruned entries
allocated and masked (AdaKV, KVzip...) use more memory than that.

kvpress is optional (`pip install wzbounds[kvpress]`; it pins transformers
below 5.3, so it lives in its own environment: `bash dev.sh arena`). A press
whose files would come from a model hub (QFilter, KVzap, ...) cannot run here:
presses run with the hub offline and fail in one line.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from validation.policies.base import Policy, typed_value

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
        known = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
        for key, _ in self.params:
            if key not in known or key == "compression_ratio":
                allowed = ", ".join(sorted(known - {"compression_ratio"})) or "none"
                raise ValueError(f"kvpress:{self.press}: {key!r} is not a parameter of {self.press} "
                                 f"(the budget sets compression_ratio; parameters: {allowed})")
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
        press_cls = cls._press_class(items[0])
        defaults = {f.name: f.default for f in dataclasses.fields(press_cls)} if dataclasses.is_dataclass(press_cls) else {}
        params = []
        for item in items[1:]:
            key, eq, value = (s.strip() for s in item.partition("="))
            if not eq:
                raise ValueError(f"policy spec {spec!r}: {item!r} is not key=value")
            params.append((key, value if key == "press" else typed_value(spec, key, value, defaults.get(key))))
        return cls(items[0], tuple(params))

    def build(self, compression_ratio: float):
        """A fresh press instance at this compression ratio."""
        kvpress = kvpress_module()
        kwargs = {k: (getattr(kvpress, v)() if k == "press" and isinstance(v, str) else v) for k, v in self.params}
        try:
            press = getattr(kvpress, self.press)(**kwargs)
        except TypeError as exc:
            raise ValueError(f"kvpress:{self.press}: {exc} (a wrapper press needs press=<InnerPress>)") from None
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
        """The ratio that keeps budget - 1 text entries (+ BOS) of the t before the query."""
        kept = min(int(budget) - 1, t - int(bos)) + int(bos)
        return 0.0 if kept >= t else 1.0 - (kept + 0.5) / t

    @property
    def label(self) -> str:
        return ",".join([self.press, *(f"{k}={v}" for k, v in self.params)])
