"""The registry of cache policies: every policy by name, and the spec grammar of the CLI.

    POLICIES                   name -> class, the built-ins (validation.policies.kept,
                               .summaries, .presses) and any `register_policy` adds
    make_policy(name, **kw)    a policy from its name and hyperparameters
    parse_policy(spec)         "name" or "name:key=value,key=value" (kvpress:Press,key=value)
    split_specs(text)          a comma-separated list of specs
    hyperparameters(policy)    the name and every hyperparameter: what a result records
"""

from __future__ import annotations

import dataclasses
from typing import Any

from validation.policies.base import CachePolicy, Policy, typed_value
from validation.policies.kept import H2O, HeavyHitter, RandomK, SinkRecent, SlidingWindow, SnapKV
from validation.policies.pooling import MultiScale, PooledBlocks
from validation.policies.presses import KvPress
from validation.policies.quantizers import Kivi, QuantizedTail
from validation.policies.summaries import CacheSummary, MergeOnEvict
from wzbounds.registry import build

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (SlidingWindow, SinkRecent, RandomK, HeavyHitter, H2O, SnapKV,
                              MergeOnEvict, PooledBlocks, MultiScale, QuantizedTail, Kivi, KvPress)
}


def register_policy(cls: type[Policy]) -> type[Policy]:
    """Add a user-defined policy to the registry under `cls.name` (usable as a class decorator);
    it then runs by name everywhere: make_policy, Protocol, `wzbounds measure --policy NAME`."""
    if not (isinstance(cls, type) and issubclass(cls, (CachePolicy, CacheSummary))):
        raise ValueError(f"a policy must be a CachePolicy or CacheSummary subclass; got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"policy class {cls.__name__} needs a class attribute `name`, an identifier; got {name!r}")
    if name in POLICIES and POLICIES[name] is not cls:
        raise ValueError(f"a policy named {name!r} is already registered ({POLICIES[name].__name__})")
    POLICIES[name] = cls
    return cls


def make_policy(name: str, **params: Any) -> Policy:
    """A policy by registry name with its hyperparameters, e.g. make_policy("sink", n_sink=4)."""
    return build(POLICIES, "policy", name, params)


def parse_policy(spec: str, defaults: dict[str, Any] | None = None) -> Policy:
    """A policy from its spec, "name" or "name:key=value,key=value" (e.g. "snapkv:window=16,kernel=7").

    Values take the type of the field's default (int, float, bool). `defaults` fills fields the
    spec leaves unset, where the policy has them (the protocol's seed for random)."""
    name, _, rest = spec.strip().partition(":")
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r} in {spec!r}; known: {', '.join(POLICIES)}")
    cls = POLICIES[name]
    if hasattr(cls, "from_spec"):  # a policy with its own spec grammar (kvpress:SnapKVPress,window_size=32)
        return cls.from_spec(spec, rest)
    fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    params: dict[str, Any] = {k: v for k, v in (defaults or {}).items() if k in fields}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in fields:
            known = ", ".join(fields) or "none"
            raise ValueError(f"policy spec {spec!r}: {item!r} is not key=value with a field of {name} ({known})")
        params[key] = typed_value(spec, key, value.strip(), fields[key].default)
    return make_policy(name, **params)


def split_specs(text: str) -> tuple[str, ...]:
    """Policy specs from a comma-separated list: a piece with "=" and no ":" continues the spec
    before it, so "sliding,snapkv:window=16,kernel=7" is ("sliding", "snapkv:window=16,kernel=7")."""
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece and ":" not in piece:
            if not specs or ":" not in specs[-1]:
                raise ValueError(f"policy list {text!r}: {piece!r} is a parameter with no policy before it; "
                                 "write name:key=value,key=value (e.g. snapkv:window=16,kernel=7)")
            specs[-1] += "," + piece
        else:
            specs.append(piece)
    return tuple(specs)


def hyperparameters(policy: Policy) -> dict[str, Any]:
    """The policy's name and every hyperparameter, defaults included: what a result records. A field
    the class lists in `recorded_when_set` (one added after results were recorded without it) is
    recorded only away from its default, so those results' folders still resume."""
    values = dataclasses.asdict(policy) if dataclasses.is_dataclass(policy) else {}
    defaults = {f.name: f.default for f in dataclasses.fields(policy)} if values else {}
    later = getattr(policy, "recorded_when_set", ())
    return {"policy": policy.name, **{k: v for k, v in values.items() if not (k in later and v == defaults[k])}}
