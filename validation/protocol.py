"""The measurement protocol: what to measure, split into resumable tasks, run with progress.

A `Protocol` names the model, the text domain, the policies, modes and
position flags, the budget grid, and how many prefixes and targets. It is
split into one task per (prefix, policy, mode, positions); each task's rows
go to the store as one shard as soon as it finishes, so an interrupted run
resumes where it stopped. `curves` turns the tidy table into
`wzbounds.curves.Curves` (one sample per prefix, averaged over its targets)
for fitting and checking.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
import numpy as np

from validation.measure import MODES, POSITIONS, Engine
from validation.policies import POLICIES, make_policy
from validation.store import ResultStore
from wzbounds.curves import Curves

@dataclass(frozen=True)
class Protocol:
    """One measurement configuration (the store refuses to mix two)."""

    model: str = "default"
    domain: str = "natural"
    policies: tuple[str, ...] = ("sliding",)
    modes: tuple[str, ...] = ("recompute",)
    positions: tuple[str, ...] = ("preserved",)
    budgets: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    prefixes: int = 4
    prefix_length: int = 512
    targets: int = 16
    seed: int = 0
    mus: tuple[float, ...] = (0.01, 0.1, 0.3)
    dtype: str = "float32"
    n_sink: int = 4

    def __post_init__(self) -> None:
        for name, allowed in (("policies", POLICIES), ("modes", MODES), ("positions", POSITIONS)):
            bad = [v for v in getattr(self, name) if v not in allowed]
            if bad or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty selection of {', '.join(allowed)}; got {bad or 'none'}")
        if self.prefixes < 1 or self.targets < 1:
            raise ValueError("prefixes and targets must be >= 1")
        if not self.budgets or min(self.budgets) < 1:
            raise ValueError("budgets must be whole numbers >= 1")
        first_target = self.prefix_length - self.targets
        if first_target < 1:
            raise ValueError(f"targets ({self.targets}) must be fewer than the prefix length ({self.prefix_length})")
        if max(self.budgets) > first_target + 1:
            raise ValueError(f"budget {max(self.budgets)} is larger than the prefix: the first target sees only "
                             f"{first_target + 1} tokens; raise --prefix-length or lower the budgets")
        if any(not 0 < mu < 1 for mu in self.mus):
            raise ValueError(f"every mu must be in (0, 1); got {self.mus}")

    def tasks(self) -> list[tuple[str, str, str]]:
        """(policy, mode, positions) combinations that make sense."""
        out = []
        for policy in self.policies:
            for mode in self.modes:
                if mode == "online" and not POLICIES[policy].static_online:
                    continue
                for positions in self.positions if mode == "recompute" else ("preserved",):
                    out.append((policy, mode, positions))
        return out

    def policy(self, name: str):
        """The policy `name` with this protocol's hyperparameters (sinks, seed)."""
        params = {"sink": {"n_sink": self.n_sink}, "random": {"seed": self.seed}}.get(name, {})
        return make_policy(name, **params)


def run(protocol: Protocol, out: str | Path, *, lm=None, device: str = "auto", corpus=None,
        max_batch_tokens: int = 8192, progress: bool = True, shard: tuple[int, int] = (0, 1)) -> ResultStore:
    """Measure everything the protocol asks for into `out`, skipping finished tasks.

    `shard = (rank, world)` runs only the prefixes with index % world == rank (see
    validation.distributed); each rank records its shards in its own manifest file and
    rank 0 merges them at the end.
    """
    from tqdm import tqdm

    from validation.corpora import load_corpus, select_prefixes
    from validation.models import load_model

    rank, world = shard
    store = ResultStore(out, asdict(protocol), rank=rank if world > 1 else None)
    if lm is None:
        lm = load_model(protocol.model, device=device, dtype=protocol.dtype)
    corpus = corpus or load_corpus(protocol.domain)
    prefixes = select_prefixes(corpus, lm.encode, protocol.prefixes, protocol.prefix_length, protocol.seed)
    engine = Engine(lm, max_batch_tokens=max_batch_tokens, mus=protocol.mus)
    combos = protocol.tasks()
    mine = [(i, p) for i, p in enumerate(prefixes) if i % world == rank]
    todo = [(p, c) for _, p in mine for c in combos if not store.done(_key(p, c))]
    bar = tqdm(total=len(mine) * len(combos), initial=len(mine) * len(combos) - len(todo), disable=not progress,
               desc=f"{protocol.domain} {rank}/{world}" if world > 1 else protocol.domain, unit="task", file=sys.stderr)
    by_prefix: dict[str, list] = {}
    for p, c in todo:
        by_prefix.setdefault(p.key, [p]).append(c)
    for items in by_prefix.values():
        prefix, combos_here = items[0], items[1:]
        needs_scores = any(POLICIES[c[0]].scores is not None for c in combos_here)
        ctx = engine.context(prefix.tokens, protocol.targets, scores=needs_scores)
        for policy_name, mode, positions in combos_here:
            policy = protocol.policy(policy_name)
            if mode == "recompute":
                rows = engine.recompute(ctx, policy, protocol.budgets, positions)
            elif mode == "evict":
                rows = engine.evict(ctx, policy, protocol.budgets)
            else:
                rows = engine.online(ctx, policy, protocol.budgets)
            base = {"doc": prefix.doc_id, "prefix_start": prefix.start, "policy": policy_name, "mode": mode,
                    "positions": positions}
            store.write(_key(prefix, (policy_name, mode, positions)), [{**base, **r} for r in rows])
            bar.update(1)
    bar.close()
    if world > 1:
        from validation.distributed import barrier

        barrier()
        if rank == 0:
            store.merge()  # rank 0's store now holds every rank's shards
        barrier()
    return store


def _key(prefix, combo: tuple[str, str, str]) -> str:
    return f"{prefix.key}|{'|'.join(combo)}"


def curves(table: dict[str, np.ndarray], policy: str, mode: str, positions: str = "preserved",
           mu: float | None = 0.1) -> Curves:
    """Curves over budgets for one (policy, mode, positions): one sample per prefix, the mean over its targets."""
    sel = (table["policy"] == policy) & (table["mode"] == mode) & (table["positions"] == positions)
    if not sel.any():
        raise ValueError(f"no rows for policy={policy}, mode={mode}, positions={positions}")
    docs = np.char.add(np.char.add(table["doc"][sel].astype(str), "@"), table["prefix_start"][sel].astype(str))
    budgets = np.unique(table["budget"][sel])
    keys = sorted(set(docs))
    col = f"kl_{mu:g}" if mu is not None else None
    if col is not None and col not in table:
        raise ValueError(f"no KL column for mu = {mu:g}; measured: {[k for k in table if k.startswith('kl_')]}")
    tv = np.zeros((len(keys), budgets.size))
    kl = np.zeros_like(tv)
    count = np.zeros_like(tv)
    row = {k: i for i, k in enumerate(keys)}
    colj = np.searchsorted(budgets, table["budget"][sel])
    rows_i = np.array([row[d] for d in docs])
    np.add.at(tv, (rows_i, colj), table["tv"][sel])
    np.add.at(count, (rows_i, colj), 1)
    if col is not None:
        np.add.at(kl, (rows_i, colj), table[col][sel])
    if np.any(count == 0):
        raise ValueError(f"some prefixes lack some budgets for {policy}/{mode}/{positions}: the run is incomplete")
    return Curves(budgets.astype(float), tv / count, kl=None if col is None else kl / count, mu=mu if col else None)
