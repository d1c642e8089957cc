"""The measurement protocol: what to measure, split into resumable tasks, run with progress.

A `Protocol` names the model, the text domain, the policies (specs with their
hyperparameters, "snapkv:window=16,kernel=7"), modes and position flags, the
budget grid, how many prefixes and targets, and the BOS rule. It is split into
one task per (prefix, policy, mode, positions); each task's rows go to the
store as one shard as soon as it finishes, so an interrupted run resumes where
it stopped. A task that fails is reported in one line (model, mode, policy,
cause), recorded in OUT/failures.json, and the others still run. `curves`
turns the tidy table into `wzbounds.curves.Curves` (one sample per prefix,
averaged over its targets) for fitting and checking.

BOS: with `bos="auto"` a context starts with the BOS token when the model's
tokenizer puts one first ("always": the tokenizer's BOS in any case, "never":
none). The BOS sits at position 0 of the full and of every kept context and is
not counted in the budget; the token id used is recorded with the results, and so is the
model's KV geometry ("kv": what an entry costs in bytes; `validation.runs.costs`).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from validation.data.bos import Bos
from validation.data.models import DTYPES
from validation.engine import MODES, POSITIONS, Engine
from validation.errors import MeasurementWarning
from validation.policies import Policy, hyperparameters, parse_policy
from validation.runs.store import ResultStore, check_out
from wzbounds.curves import Curves


@dataclass(frozen=True)
class Protocol:
    """One measurement configuration (the store refuses to mix two)."""

    model: str = "default"
    domain: str = "natural"
    policies: tuple[str, ...] = ("sliding",)  # specs: "sink" or "snapkv:window=16,kernel=7"
    modes: tuple[str, ...] = ("recompute",)
    positions: tuple[str, ...] = ("preserved",)
    budgets: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    prefixes: int = 4
    prefix_length: int = 512
    targets: int = 16
    target_spacing: int = 1  # positions between targets, the last target at the end of the prefix
    seed: int = 0
    mus: tuple[float, ...] = (0.01, 0.1, 0.3)
    dtype: str = "float32"
    bos: Bos | str = "auto"  # a Bos, or its rule: auto, always, never (the token is resolved by `run`)
    reindex: tuple[str, ...] | None = None  # the policies measured re-indexed too (None: every policy)
    carried: bool = True  # streaming summaries measured online too, carried through decoding (token by token)

    def __post_init__(self) -> None:
        if not self.policies:
            raise ValueError("policies must name at least one policy")
        if self.reindex is not None and set(self.reindex) - set(self.policies):
            raise ValueError(f"reindex names policies not measured: {sorted(set(self.reindex) - set(self.policies))}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        object.__setattr__(self, "bos", Bos(Bos.of(self.bos).rule))  # the rule only: a protocol precedes the model
        for name, allowed in (("modes", MODES), ("positions", POSITIONS)):
            bad = [v for v in getattr(self, name) if v not in allowed]
            if bad or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty selection of {', '.join(allowed)}; got {bad or 'none'}")
        for spec in self.policies:
            modes = self.policy(spec).modes  # an unknown policy or a bad hyperparameter fails here, before any work
            if not set(modes) & set(self.modes):
                raise ValueError(f"policy {spec!r} runs in {' and '.join(modes)} mode only; "
                                 f"the protocol measures {', '.join(self.modes)}")
        if not isinstance(self.carried, bool):
            raise ValueError(f"carried must be true or false; got {self.carried!r}")
        for name in ("prefixes", "targets", "target_spacing", "prefix_length", "seed"):
            value = getattr(self, name)
            low = 0 if name == "seed" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name.replace('_', '-')} must be a whole number >= {low}; got {value!r}")
        if not self.budgets or min(self.budgets) < 1:
            raise ValueError("budgets must be whole numbers >= 1")
        first_target = self.prefix_length - 1 - (self.targets - 1) * self.target_spacing
        if first_target < 1:
            raise ValueError(f"targets ({self.targets}" + (f", {self.target_spacing} apart" if self.target_spacing > 1
                             else "") + f") must be fewer than the prefix length ({self.prefix_length})")
        if max(self.budgets) > first_target + 1:
            raise ValueError(f"budget {max(self.budgets)} is larger than the prefix: the first target sees only "
                             f"{first_target + 1} tokens; raise --prefix-length or lower the budgets")
        if any(not 0 < mu < 1 for mu in self.mus):
            raise ValueError(f"every mu must be in (0, 1); got {self.mus}")

    def tasks(self) -> list[tuple[str, str, str]]:
        """(policy, mode, positions) combinations that make sense."""
        out = []
        for spec in self.policies:
            policy = self.policy(spec)
            for mode in self.modes:
                if mode not in policy.modes or (mode == "online" and policy.kind == "summary" and not self.carried):
                    continue
                for positions in self.positions if mode == "recompute" else ("preserved",):
                    if positions == "reindexed" and self.reindex is not None and spec not in self.reindex:
                        continue
                    out.append((spec, mode, positions))
        return out

    def unrunnable(self) -> dict[str, str]:
        """{"policy|mode": one line} for every asked policy and mode the policy cannot run in: reported
        and recorded as failures, never skipped in silence."""
        out = {}
        for spec in self.policies:
            can = self.policy(spec).modes
            for mode in self.modes:
                if mode not in can:
                    out[f"{spec}|{mode}"] = (f"{spec} cannot run in {mode} mode (it runs in {', '.join(can)}): "
                                             "not measured")
        return out

    def policy(self, spec: str) -> Policy:
        """The policy of a spec; a random policy without its own seed takes the protocol's."""
        return parse_policy(spec, defaults={"seed": self.seed})

    def role(self, declares: Callable[[Policy], bool]) -> str | None:
        """The first policy spec whose policy makes the declaration (roles are taken by declaration,
        never by name), else None."""
        return next((spec for spec in self.policies if declares(self.policy(spec))), None)

    def reference(self) -> str:
        """The suffix-only reference every claim and the arena compare against: the policy declaring
        `suffix_only`."""
        spec = self.role(lambda p: p.suffix_only)
        if spec is None:
            raise ValueError(f"no policy among {', '.join(self.policies)} declares suffix_only: the claims and the "
                             "arena compare every policy with the suffix-only window")
        return spec

    def hyperparameters(self) -> dict[str, dict]:
        """Every policy spec with all its hyperparameters, defaults included (recorded with the results)."""
        return {spec: hyperparameters(self.policy(spec)) for spec in self.policies}


def protocol_config(protocol: Protocol) -> dict:
    """The configuration a results folder records for a protocol (before the model is known:
    `run` adds the BOS token id), so a folder of another configuration is refused before any work."""
    config = {**asdict(protocol), "bos": protocol.bos.rule, "hyperparameters": protocol.hyperparameters()}
    if protocol.target_spacing == 1:  # consecutive targets: recorded as before spacing existed (folders resume)
        del config["target_spacing"]
    if protocol.carried:  # recorded only when summaries are left out of online mode
        del config["carried"]
    return config


def run(protocol: Protocol, out: str | Path, *, lm=None, device: str = "auto", corpus=None,
        max_batch_tokens: int = 8192, progress: bool = True, shard: tuple[int, int] = (0, 1),
        every_runnable_mode: bool = False) -> ResultStore:
    """Measure everything the protocol asks for into `out`, skipping finished tasks.

    A failing task is reported in one line and recorded in OUT/failures.json; the other tasks
    still run and are saved, and the returned store lists the failures in `store.failures`
    (the `measure` command then exits with status 2). `shard = (rank, world)` runs only the
    prefixes with index % world == rank (see validation.runs.distributed); each rank records its
    shards in its own manifest file and rank 0 merges them at the end. A policy asked for in a
    mode it cannot run in is one line and a failure (`Protocol.unrunnable`), unless
    `every_runnable_mode` says the modes are meant as "each policy in those it runs in" (the arena).
    """
    from tqdm import tqdm

    from validation.data.corpora import load_corpus, select_prefixes
    from validation.data.models import load_model

    rank, world = shard
    if max_batch_tokens < 1:
        raise ValueError(f"max-batch-tokens must be a whole number >= 1; got {max_batch_tokens!r}")
    out = check_out(out, protocol_config(protocol))
    if lm is None:
        lm = load_model(protocol.model, device=device, dtype=protocol.dtype)
    bos = lm.resolve_bos(protocol.bos)
    engine = Engine(lm, max_batch_tokens=max_batch_tokens, mus=protocol.mus)
    _check_fits(protocol, lm, engine, bos)
    corpus = corpus or load_corpus(protocol.domain)
    prefixes = select_prefixes(corpus, lm.encode, protocol.prefixes, protocol.prefix_length, protocol.seed)
    # the run can start: only now is anything written to `out` (a run refused above leaves it as it was)
    store = ResultStore(out, {**protocol_config(protocol), "bos_token": bos.token, "kv": asdict(lm.kv)},
                        rank=rank if world > 1 else None)
    try:
        combos = protocol.tasks()
        mine = [(i, p) for i, p in enumerate(prefixes) if i % world == rank]
        todo = [(p, c) for _, p in mine for c in combos if not store.done(_key(p, c))]
        bar = tqdm(total=len(mine) * len(combos), initial=len(mine) * len(combos) - len(todo),
                   disable=not (progress and sys.stderr.isatty()),
                   desc=f"{protocol.domain} {rank}/{world}" if world > 1 else protocol.domain, unit="task", file=sys.stderr)
        by_prefix: dict[str, list] = {}
        for p, c in todo:
            by_prefix.setdefault(p.key, [p]).append(c)
        failures = protocol.unrunnable() if rank == 0 and not every_runnable_mode else {}
        for line in failures.values():
            print(f"wzbounds: error: {line}", file=sys.stderr)
        for items in by_prefix.values():
            prefix, combos_here = items[0], items[1:]
            tokens = ((bos.token,) if bos else ()) + tuple(prefix.tokens)
            failures.update(_measure_prefix(engine, protocol, prefix, tokens, combos_here, store, bos, bar))
        bar.close()
        store.record_failures(failures)
        if world > 1:
            from validation.runs.distributed import barrier

            barrier()
            if rank == 0:
                store.merge()  # rank 0's store now holds every rank's shards
            barrier()
    finally:
        store.close()  # the folder's run lock: another process may write it now
    return store


def _measure_prefix(engine: Engine, protocol: Protocol, prefix, tokens, combos, store, bos, bar) -> dict[str, str]:
    """Every task of one prefix; returns the failures (the other tasks still run and are saved)."""
    failures: dict[str, str] = {}
    lm = engine.lm
    scored = [c for c in combos if protocol.policy(c[0]).scores is not None]
    ctx = None
    for with_scores in ([True, False] if scored else [False]):
        try:
            ctx = engine.context(tokens, protocol.targets, scores=with_scores, bos=bos,
                                 spacing=protocol.target_spacing, following=prefix.following)
            break
        except Exception as exc:  # noqa: BLE001 - one line per failure; what can still run, runs
            lost = scored if with_scores else [c for c in combos if c not in scored]
            failures.update(_failed(lm, protocol.domain, prefix, lost, exc))
            bar.update(len(lost))
    if ctx is None:
        return failures
    base = {"doc": prefix.doc_id, "prefix_start": prefix.start}
    carried = [c for c in combos if c[1] == "online" and protocol.policy(c[0]).kind == "summary"]
    if carried:  # every summary carried through decoding in one decode (validation.engine.carried)
        try:
            tables = engine.carry(ctx, [protocol.policy(c[0]) for c in carried], protocol.budgets)
        except Exception as exc:  # noqa: BLE001 - one line per failure; the other tasks still run
            failures.update(_failed(lm, protocol.domain, prefix, carried, exc))
        else:
            for (spec, mode, positions), rows in zip(carried, tables):
                row = {**base, "policy": spec, "mode": mode, "positions": positions}
                store.write(_key(prefix, (spec, mode, positions)), [{**row, **r} for r in rows])
        bar.update(len(carried))
    for spec, mode, positions in combos:
        if _key(prefix, (spec, mode, positions)) in failures or (spec, mode, positions) in carried:
            continue
        try:
            policy = protocol.policy(spec)
            if mode == "recompute":
                rows = engine.recompute(ctx, policy, protocol.budgets, positions)
            elif mode == "evict":
                rows = engine.evict(ctx, policy, protocol.budgets)
            else:
                rows = engine.online(ctx, policy, protocol.budgets)
        except Exception as exc:  # noqa: BLE001 - one line per failure; the other tasks still run
            failures.update(_failed(lm, protocol.domain, prefix, [(spec, mode, positions)], exc))
        else:
            row = {**base, "policy": spec, "mode": mode, "positions": positions}
            store.write(_key(prefix, (spec, mode, positions)), [{**row, **r} for r in rows])
        bar.update(1)
    return failures


SPACED_CONTEXT = 4  # spaced targets: each target's context should hold this many times the largest budget


def _check_fits(protocol: Protocol, lm, engine: Engine, bos: Bos) -> None:
    """Refuse prefixes longer than the model's context; warn of budgets past its sliding window, and of
    spaced targets whose context is short beside the largest budget."""
    length = protocol.prefix_length + int(bos)
    if lm.max_positions and length > lm.max_positions:
        raise ValueError(f"prefixes of {length} tokens{' (with BOS)' if bos else ''} exceed the "
                         f"context of {lm.name} ({lm.max_positions} positions); lower --prefix-length")
    window = engine.layout.sliding_window
    if window is not None and max(protocol.budgets) > window:
        kinds = "its sliding layers" if "full_attention" in engine.layout.layer_types else "every layer"
        warnings.warn(f"budgets above {window} exceed the sliding window of {lm.name}: {kinds} see at most "
                      f"{window} positions whatever the budget", MeasurementWarning, stacklevel=3)
    first = protocol.prefix_length - (protocol.targets - 1) * protocol.target_spacing  # tokens the first target sees
    if protocol.target_spacing > 1 and first < SPACED_CONTEXT * max(protocol.budgets):
        warnings.warn(f"the first of the spaced targets sees {first} tokens, less than {SPACED_CONTEXT}x the largest "
                      f"budget ({max(protocol.budgets)}): near its context the curve bends down (at the context "
                      "itself TV is 0), which the power-law claims read as a law that is not a power; lengthen the "
                      "prefix or space the targets less", MeasurementWarning, stacklevel=3)


def _failed(lm, domain: str, prefix, combos, exc: Exception) -> dict[str, str]:
    """One line per failed task, printed and returned by task key."""
    cause = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
    out = {}
    for spec, mode, positions in combos:
        line = f"{lm.name}: {mode} mode ({spec}, {positions}) failed on {domain} {prefix.doc_id}@{prefix.start}: {cause}"
        print(f"wzbounds: error: {line}", file=sys.stderr)
        out[_key(prefix, (spec, mode, positions))] = line
    return out


def _key(prefix, combo: tuple[str, str, str]) -> str:
    return f"{prefix.key}|{'|'.join(combo)}"


def documents(table: dict[str, np.ndarray], policy: str, mode: str, positions: str = "preserved") -> list[str]:
    """The documents ("doc@prefix_start") measured for one (policy, mode, positions), sorted: the
    order of `curves`' samples, so two curves are paired when their documents are equal."""
    sel = (table["policy"] == policy) & (table["mode"] == mode) & (table["positions"] == positions)
    return sorted(set(np.char.add(np.char.add(table["doc"][sel].astype(str), "@"),
                                  table["prefix_start"][sel].astype(str))))


def document_means(table: dict[str, np.ndarray], policy: str, mode: str, column: str,
                   positions: str = "preserved") -> tuple[list[str], np.ndarray, np.ndarray]:
    """(documents, budgets, means): each document's ("doc@prefix_start", sorted) mean of `column` over
    its targets at every measured budget of (policy, mode, positions); NaN values are left out, and a
    document with none at a budget gets NaN there."""
    if "policy" not in table:
        raise ValueError(f"no measurements for policy={policy}, mode={mode}: the part holding them has no rows")
    sel = (table["policy"] == policy) & (table["mode"] == mode) & (table["positions"] == positions)
    if not sel.any():
        raise ValueError(f"no rows for policy={policy}, mode={mode}, positions={positions}")
    docs = np.char.add(np.char.add(table["doc"][sel].astype(str), "@"), table["prefix_start"][sel].astype(str))
    budgets = np.unique(table["budget"][sel])
    keys = sorted(set(docs))
    row = {k: i for i, k in enumerate(keys)}
    at = (np.array([row[d] for d in docs]), np.searchsorted(budgets, table["budget"][sel]))
    values = np.asarray(table[column][sel], dtype=float)
    kept = np.isfinite(values)
    total, count = np.zeros((len(keys), budgets.size)), np.zeros((len(keys), budgets.size))
    np.add.at(total, (at[0][kept], at[1][kept]), values[kept])
    np.add.at(count, (at[0][kept], at[1][kept]), 1)
    means = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)
    return keys, budgets, means


def curves(table: dict[str, np.ndarray], policy: str, mode: str, positions: str = "preserved",
           mu: float | None = 0.1) -> Curves:
    """Curves over budgets for one (policy, mode, positions): one sample per prefix, the mean over its targets."""
    col = f"kl_{mu:g}" if mu is not None else None
    if col is not None and col not in table:
        raise ValueError(f"no KL column for mu = {mu:g}; measured: {[k for k in table if k.startswith('kl_')]}")
    _, budgets, tv = document_means(table, policy, mode, "tv", positions)
    kl = None if col is None else document_means(table, policy, mode, col, positions)[2]
    if np.isnan(tv).any() or (kl is not None and np.isnan(kl).any()):
        raise ValueError(f"some prefixes lack some budgets for {policy}/{mode}/{positions}: the run is incomplete")
    return Curves(budgets.astype(float), tv, kl=kl, mu=mu if col else None)
