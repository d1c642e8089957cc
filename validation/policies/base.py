"""The public base classes of cache policies (validation.policies lists and registers them).

Subclass `CachePolicy` and write `choose(t, budget, scores)`; `validation.testing.check_policy`
checks a policy against everything it declares, as the built-ins are checked.

A policy has a name, hyperparameters (the fields of a frozen dataclass) and
declarations the measurement engine dispatches on and the analyses choose roles by,
never its class or name:

    kind            "kept": it chooses which entries stay (`CachePolicy.keep`), runs in
                    every mode; "summary": it rewrites the prefix cache (merging, pooling,
                    quantizing; validation.policies.summaries), evict mode, and online mode
                    (carried through decoding) when `streaming`; "press": a kvpress press
                    compressing the cache at prefill (validation.policies.presses), evict mode only
    suffix_only     its kept set is the last min(budget, t + 1) positions: the suffix-only
                    window, the reference every claim and the arena compare against
    sinks           how many first positions it always keeps (attention sinks) when the
                    budget leaves room for them and t; with anchored_head() = those sinks,
                    it is the sink+recent policy of the sink claims
    uniform         its other kept positions are drawn uniformly at random from 0..t-1:
                    the random control of the recency claims
    scores          which attention scores it reads: None, "last_query",
                    "accumulated" or "observation" (sums over `score_window` queries)
    score_window    the observation window, in queries, for "observation" scores
    anchored_head() the fixed head H when every kept set is H plus a contiguous run
                    ending at t (the anchored recompute engine), else None
    static_online   its kept set at step t is a fixed function of (t, budget) and never
                    re-admits an evicted entry: it can run online, and online decoding
                    is then one forward under a fixed mask
    modes           the measurement modes it can run in
    cache_bytes()   the bytes of KV cache the query attends to under a budget
    saturated()     whether, at a budget, its compressed past already reaches the first position
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from wzbounds.memory import KVGeometry


class Policy(ABC):
    """What every cache policy declares; see the module docstring."""

    name: ClassVar[str]
    kind: ClassVar[str] = "kept"
    suffix_only: ClassVar[bool] = False
    uniform: ClassVar[bool] = False
    scores: ClassVar[str | None] = None
    static_online: ClassVar[bool] = False

    @property
    def sinks(self) -> int:
        return 0

    @property
    def score_window(self) -> int:
        return 8

    def anchored_head(self) -> tuple[int, ...] | None:
        return None

    @property
    def modes(self) -> tuple[str, ...]:
        if self.kind != "kept":
            return ("evict",)
        return ("recompute", "evict", "online") if self.static_online else ("recompute", "evict")

    def cache_bytes(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> float:
        """Bytes of the KV cache the query at sequence position t attends to, itself included:
        min(budget, text tokens up to t) entries, plus the BOS when there is one, in every layer
        (`kv.cache_bytes`: a sliding-window layer holds at most its window of them)."""
        return float(kv.cache_bytes(min(int(budget), t + 1 - int(bos)) + int(bos)))


    def saturated(self, t: int, budget: int, kv: KVGeometry, bos: bool = False) -> bool:
        """Whether, at this budget, more memory no longer extends how far back the policy reaches
        (a summary whose compressed part already covers the whole prefix): its distortion then
        measures its precision, not its scaling. False for kept sets and presses."""
        return False


class CachePolicy(Policy):
    """A policy that keeps a subset of the entries (kind "kept").

    At step t the model is about to predict token t+1 from positions 0..t; `keep(t, budget,
    scores)` returns the sorted positions kept, always including t itself (the query),
    exactly min(budget, t+1) of them. Subclasses write the hook `choose`."""

    @abstractmethod
    def choose(self, t: int, budget: int, scores: NDArray | None) -> NDArray[np.int64]:
        """The positions kept when budget < t + 1 (`keep` handles the trivial case): `budget`
        distinct positions in 0..t, t among them, in any order. `scores` (positions 0..t) is
        given when the policy declares `scores`, else None."""

    def keep(self, t: int, budget: int, scores: NDArray | None = None) -> NDArray[np.int64]:
        if t < 0:
            raise ValueError(f"t must be >= 0; got {t}")
        if budget < 1:
            raise ValueError(f"budget must be >= 1; got {budget}")
        if budget >= t + 1:
            return np.arange(t + 1)
        if self.scores is not None:
            if scores is None or len(scores) < t + 1:
                raise ValueError(f"policy {self.name!r} needs attention scores for positions 0..{t}")
            scores = np.asarray(scores[: t + 1], dtype=np.float64)
        chosen = np.asarray(self.choose(t, budget, scores))
        kept = np.unique(chosen)
        if chosen.size != budget or kept.size != budget or kept[0] < 0 or kept[-1] != t:
            raise ValueError(f"policy {self.name!r} broke its contract at t = {t}, budget = {budget}: choose must "
                             f"return {budget} distinct positions in 0..{t} including {t}; got {chosen.tolist()[:12]}"
                             + (" ..." if chosen.size > 12 else ""))
        return kept.astype(np.int64)


def whole(policy: Policy, field: str, least: int) -> None:
    """Refuse a hyperparameter that is not a whole number >= least, naming it."""
    value = getattr(policy, field)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{policy.name}: {field} must be a whole number >= {least}; got {value!r}")


def typed_value(spec: str, key: str, value: str, default: Any) -> Any:
    """A hyperparameter from its text, typed like the field's default (bool, int, float); with no
    typed default, a number when it reads as one, None for "none", else the text."""
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        if isinstance(default, (int, float)):
            return type(default)(value)
    except ValueError:
        raise ValueError(f"policy spec {spec!r}: {key}={value!r} is not a {type(default).__name__}") from None
    if default is None:
        if value.lower() == "none":
            return None
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
    return value
