"""What each policy's cache holds, per budget: the annotations the claims layer reads from `Curves`.

At the query ending the prefix (position prefix_length - 1, one later after a BOS: the
last target of every protocol), for a policy at budget k:

    memory[k]     bytes of KV cache the query attends to (`Policy.cache_bytes`: every entry
                  kept, pooled or quantized, scales and zero points included, the BOS too)
    saturated[k]  whether the policy's compressed past already covers the whole prefix
                  (`Policy.saturated`: more memory then buys precision, not reach)

`Costs.curves` is `protocol.curves` with both and the documents' names: the curves the
arena decides on and `wzbounds export` writes, so that `wzbounds compare` on the exported
files decides as the arena does. A results folder records the model's KV geometry and its
BOS token in its configuration (`Costs.recorded`); a folder written before the geometry was
recorded has no bytes (memory is then the budget, in tokens).
"""

from __future__ import annotations

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

    @classmethod
    def of(cls, protocol: Protocol, kv: KVGeometry, bos: Bos) -> Costs:
        return cls(protocol.prefix_length, protocol.seed, kv, bos)

    @classmethod
    def recorded(cls, config: dict[str, Any]) -> Costs:
        """From a results folder's configuration (its manifest's "config")."""
        kv = config.get("kv")
        return cls(int(config["prefix_length"]), int(config["seed"]), None if kv is None else KVGeometry(**{
            **kv, "layer_windows": None if kv.get("layer_windows") is None else tuple(kv["layer_windows"])}),
            Bos(config.get("bos", "auto"), config.get("bos_token")))

    @property
    def query(self) -> int:
        """The position of the query ending the prefix."""
        return self.prefix_length - 1 + int(self.bos)

    def memory(self, spec: str, budgets) -> np.ndarray:
        """Bytes the query attends to under policy `spec` at each budget (needs the KV geometry)."""
        if self.kv is None:
            raise ValueError("this results folder does not record the model's KV geometry: no bytes")
        policy = parse_policy(spec, defaults={"seed": self.seed})
        return np.array([policy.cache_bytes(self.query, int(k), self.kv, self.bos) for k in budgets])

    def saturated(self, spec: str, budgets) -> np.ndarray:
        """Whether policy `spec` saturates at each budget (needs the KV geometry)."""
        if self.kv is None:
            raise ValueError("this results folder does not record the model's KV geometry: no saturation")
        policy = parse_policy(spec, defaults={"seed": self.seed})
        return np.array([policy.saturated(self.query, int(k), self.kv, self.bos) for k in budgets], dtype=bool)

    def curves(self, table: dict, spec: str, mode: str, positions: str = "preserved",
               mu: float | None = None) -> Curves:
        """`protocol.curves` with the documents' names, and with memory and saturation when the
        geometry is known."""
        c = replace(curves(table, spec, mode, positions, mu=mu), samples=tuple(documents(table, spec, mode, positions)))
        if self.kv is None:
            return c
        return replace(c, memory=self.memory(spec, c.windows), saturated=self.saturated(spec, c.windows))
