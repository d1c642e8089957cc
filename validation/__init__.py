"""validation: measure real language models under cache policies.

The public API, in the order a measurement uses it:

    load_model(spec, device="auto")    a causal LM: "default" (the embedded SmolLM2-135M), a .gguf
                                       file, a model folder, or a hub id already in the local cache
    load_corpus(name_or_path)          "natural", "code", or your own text file / folder
    Engine(lm)                         the three modes on one prefix: context, recompute, evict, online
    Protocol(...), run(protocol, out)  a whole measurement, resumable, into a results folder
    ResultStore.open(out).table()      the measured rows as named columns
    curves(table, policy, mode)        wzbounds.curves.Curves, for wzbounds' fits and checks
    CachePolicy, register_policy       write a policy of your own and run it by name
    check_policy(policy)               the contract it must keep, checked from what it declares
    CacheSummary                       ... or a summary that rewrites the cache (merge, pooled, multiscale, ...)
    KvPress                            a kvpress press as a policy ("kvpress:SnapKVPress"; wzbounds[kvpress])
    make_policy, parse_policy          a registered policy from its name and hyperparameters

`validation.validate.validate` and `validation.arena.arena` run the two reports (`wzbounds validate`,
`wzbounds arena`) from Python.

docs/validation.md has a runnable example of a user-defined policy. Names are
imported on first use (PEP 562), so `import validation` loads neither torch
nor transformers; `validation.data.geometry` works without them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_model": "validation.data.models",
    "LoadedModel": "validation.data.models",
    "load_corpus": "validation.data.corpora",
    "folder_corpus": "validation.data.corpora",
    "select_prefixes": "validation.data.corpora",
    "Engine": "validation.engine",
    "PrefixContext": "validation.engine",
    "AttentionLayout": "validation.engine.masks",
    "Protocol": "validation.runs.protocol",
    "run": "validation.runs.protocol",
    "curves": "validation.runs.protocol",
    "IncompleteRun": "validation.errors",
    "MeasurementWarning": "validation.errors",
    "ResultStore": "validation.runs.store",
    "CachePolicy": "validation.policies.base",
    "check_policy": "validation.testing",
    "CacheSummary": "validation.policies.summaries",
    "KvPress": "validation.policies.presses",
    "POLICIES": "validation.policies",
    "register_policy": "validation.policies",
    "make_policy": "validation.policies",
    "parse_policy": "validation.policies",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'validation' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
