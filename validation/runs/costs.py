"""What each policy's cache holds, per budget: the annotations the claims layer reads from `Curves`.

At the protocol's targets (the queries at positions prefix_length - 1 - j * spacing,
j < targets, one later each after a BOS), for a policy at budget k:

    memory[k]     bytes of KV cache a query attends to (`Policy.cache_bytes`: every entry
                  kept, pooled or quantized, scales and zero points included, the BOS too),
                  averaged over the targets, as the distortion is
    saturated[k]  whether the policy's compressed past already covers the whole context at
                  some target (`Policy.saturated`: more memory then buys precision, not
                  reach; the earliest target, with the shortest context, saturates first)

`Costs.curves` is `protocol.curves` with both and the documents' names: the curves the
arena decides on and `wzbounds export` writes, so that `wzbounds compare` on the exported
files decides as the arena does. A results folder records the model's KV geometry and its
BOS token in its configuration (`Costs.recorded`); a folder written before the geometry was
recorded has no bytes (memory is then the budget, in tokens), and neither has a kvpress press
where kvpress is not installed (`Costs.unknown`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from validation.data.bos import Bos
from validation.policies import parse_policy
from validation.runs.protocol import Protocol, curves, documents
from wzbounds.curves import Curves
from wzbounds.memory import KVGeometry


@dataclass(frozen=True)
class Costs:
    """Bytes and saturation per budget of every policy of a run (module docstring). `seed` is the
    protocol's, which a random policy without its own takes; kv None: no bytes, no saturation."""

    prefix_length: int
    seed: int
    kv: KVGeometry | None
    bos: Bos
    targets: int = 1
    target_spacing: int = 1

    @classmethod
    def of(cls, protocol: Protocol, kv: KVGeometry, bos: Bos) -> Costs:
        return cls(protocol.prefix_length, protocol.seed, kv, bos, protocol.targets, protocol.target_spacing)

    @classmethod
    def recorded(cls, config: dict[str, Any]) -> Costs:
        """From a results folder's configuration (its manifest's "config")."""
        kv = config.get("kv")
        return cls(int(config["prefix_length"]), int(config["seed"]), None if kv is None else KVGeometry(**kv),
                   Bos(config.get("bos", "auto"), config.get("bos_token")), int(config.get("targets", 1)),
                   int(config.get("target_spacing", 1)))

    @property
    def queries(self) -> tuple[int, ...]:
        """The positions of the targets' queries, the last ending the prefix."""
        last = self.prefix_length - 1 + int(self.bos)
        return tuple(last - j * self.target_spacing for j in reversed(range(self.targets)))

    def _at_queries(self, spec: str, budgets, method: str) -> np.ndarray:
        """Policy `spec`'s `method` (cache_bytes, saturated) at every target's query (rows) and budget."""
        if self.kv is None:
            raise ValueError(f"this results folder does not record the model's KV geometry: no {method}")
        measure = getattr(parse_policy(spec, defaults={"seed": self.seed}), method)
        return np.array([[measure(t, int(k), self.kv, self.bos) for k in budgets] for t in self.queries])

    def memory(self, spec: str, budgets) -> np.ndarray:
        """Bytes a query attends to under policy `spec` at each budget, the mean over the targets."""
        return self._at_queries(spec, budgets, "cache_bytes").mean(axis=0)

    def saturated(self, spec: str, budgets) -> np.ndarray:
        """Whether policy `spec` saturates at each budget at some target."""
        return self._at_queries(spec, budgets, "saturated").astype(bool).any(axis=0)

    def unknown(self, spec: str) -> str | None:
        """Why policy `spec`'s bytes and saturation cannot be computed here, else None: no recorded
        geometry, or a kvpress press (its bytes are kvpress's own arithmetic) without kvpress."""
        if self.kv is None:
            return "the folder predates the recorded KV geometry"
        if spec.startswith("kvpress:") and importlib.util.find_spec("kvpress") is None:
            return "a press's bytes need kvpress, not installed here"
        return None

    def curves(self, table: dict, spec: str, mode: str, positions: str = "preserved",
               mu: float | None = None) -> Curves:
        """`protocol.curves` with the documents' names, and with memory and saturation unless
        `unknown` says why not."""
        c = replace(curves(table, spec, mode, positions, mu=mu), samples=tuple(documents(table, spec, mode, positions)))
        if self.unknown(spec) is not None:
            return c
        return replace(c, memory=self.memory(spec, c.windows), saturated=self.saturated(spec, c.windows))
