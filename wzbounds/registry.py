"""Building a registered class by name, with errors that name the registry."""

from __future__ import annotations

from typing import Any


def build(registry: dict[str, type], kind: str, name: str, params: dict[str, Any]) -> Any:
    """registry[name](**params); an unknown name or bad parameters is a ValueError naming the `kind`."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(registry)}")
    try:
        return registry[name](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for {kind} {name!r}: {exc}") from None
