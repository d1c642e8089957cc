"""Cache policies behind one interface: which positions to keep at step t under a budget.

A policy is a small frozen dataclass whose fields are its hyperparameters,
registered by name (in the spirit of kvpress's presses). At step t the
model is about to predict token t+1 from positions 0..t; `keep(t, budget,
scores)` returns the sorted positions kept, always including t itself (the
query), exactly min(budget, t+1) of them. Score-based policies read
per-position importances (attention mass) that the measurement engine
computes from the full-context forward.

    sliding       the last `budget` positions                             suffix-only
    sink          n_sink first positions + the most recent ones           not suffix-only
    random        t and budget-1 uniformly random earlier positions       not suffix-only
    heavy         t and the top budget-1 by the last query's attention    not suffix-only
    h2o           recent half + heavy hitters by accumulated attention    not suffix-only
    snapkv        an observation window + top keys by its attention,
                  max-pooled over neighbours                              not suffix-only

Beside these kept-set policies (kind "kept", every mode), two kinds rewrite the
cache (validation.policies.base lists the declarations):

    merge, pooled, multiscale,  summaries (validation.policies.summaries): evict mode, and
    quantized, kivi             online, carried through decoding, when streaming
    kvpress:<Press>,key=value   any kvpress press (validation.policies.presses): evict mode only
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from validation.policies.base import CachePolicy, whole


def _top(scores: NDArray, candidates: NDArray, k: int) -> NDArray:
    """The k candidates with the largest scores (ties to the later position)."""
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((candidates, scores[candidates]))
    return candidates[order[-k:]]


@dataclass(frozen=True)
class SlidingWindow(CachePolicy):
    name: ClassVar[str] = "sliding"
    suffix_only: ClassVar[bool] = True
    static_online: ClassVar[bool] = True

    def anchored_head(self) -> tuple[int, ...]:
        return ()

    def choose(self, t, budget, scores):
        return np.arange(t - budget + 1, t + 1)


@dataclass(frozen=True)
class SinkRecent(CachePolicy):
    """StreamingLLM: the first n_sink positions (attention sinks) and the most recent ones."""

    n_sink: int = 4
    name: ClassVar[str] = "sink"
    static_online: ClassVar[bool] = True

    def __post_init__(self) -> None:
        whole(self, "n_sink", 0)

    @property
    def sinks(self) -> int:
        return self.n_sink

    def anchored_head(self) -> tuple[int, ...]:
        return tuple(range(self.n_sink))

    def choose(self, t, budget, scores):
        sinks = min(self.n_sink, budget - 1)
        return np.concatenate([np.arange(sinks), np.arange(t - (budget - sinks) + 1, t + 1)])


@dataclass(frozen=True)
class RandomK(CachePolicy):
    """t and budget-1 earlier positions drawn uniformly, seeded by (seed, t, budget)."""

    seed: int = 0
    name: ClassVar[str] = "random"
    uniform: ClassVar[bool] = True

    def choose(self, t, budget, scores):
        rng = np.random.default_rng([self.seed, t, budget])
        return np.append(rng.choice(t, size=budget - 1, replace=False), t)


@dataclass(frozen=True)
class HeavyHitter(CachePolicy):
    """t and the budget-1 earlier positions with the most attention from the last query."""

    name: ClassVar[str] = "heavy"
    scores: ClassVar[str | None] = "last_query"

    def choose(self, t, budget, scores):
        return np.append(_top(scores, np.arange(t), budget - 1), t)


@dataclass(frozen=True)
class H2O(CachePolicy):
    """H2O: a recent window (recent_fraction of the budget) plus heavy hitters by attention
    accumulated over all queries so far."""

    recent_fraction: float = 0.5
    name: ClassVar[str] = "h2o"
    scores: ClassVar[str | None] = "accumulated"

    def __post_init__(self) -> None:
        if not 0 < self.recent_fraction <= 1:
            raise ValueError(f"h2o: recent_fraction must be in (0, 1]; got {self.recent_fraction}")

    def choose(self, t, budget, scores):
        recent = max(1, int(round(self.recent_fraction * budget)))
        window = np.arange(t - recent + 1, t + 1)
        return np.concatenate([_top(scores, np.arange(t - recent + 1), budget - recent), window])


@dataclass(frozen=True)
class SnapKV(CachePolicy):
    """SnapKV: keep the last `window` positions (the observation window) and the earlier
    positions with the most attention from it, max-pooled over `kernel` neighbours."""

    window: int = 8
    kernel: int = 5
    name: ClassVar[str] = "snapkv"
    scores: ClassVar[str | None] = "observation"

    def __post_init__(self) -> None:
        whole(self, "window", 1)
        whole(self, "kernel", 1)

    @property
    def score_window(self) -> int:
        return self.window

    def choose(self, t, budget, scores):
        obs = min(self.window, budget)
        head = np.arange(t - obs + 1)
        pooled = scores.copy()
        if self.kernel > 1 and head.size:
            pad = self.kernel // 2
            padded = np.pad(scores[: head.size], pad, mode="edge")
            windows = np.lib.stride_tricks.sliding_window_view(padded, self.kernel)
            pooled[: head.size] = windows.max(axis=1)
        return np.concatenate([_top(pooled, head, budget - obs), np.arange(t - obs + 1, t + 1)])
