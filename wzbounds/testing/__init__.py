"""Testing tools shipped for users: a conformance suite for bounds and hypothesis strategies.

    wzbounds.testing.check_bound, bound_checks     the conformance suite (conformance.py)
    wzbounds.testing.strategies                    hypothesis strategies: distributions, suffix
                                                   problems, sources (needs `hypothesis`)

`strategies` is imported on first use, so `wzbounds.testing` works without
hypothesis installed.
"""

from __future__ import annotations

from typing import Any

from wzbounds.testing.conformance import CHECKS, BoundReport, bound_checks, check_bound, targets

__all__ = ["CHECKS", "BoundReport", "bound_checks", "check_bound", "strategies", "targets"]


def __getattr__(name: str) -> Any:
    if name == "strategies":
        import importlib

        return importlib.import_module("wzbounds.testing.strategies")
    raise AttributeError(f"module 'wzbounds.testing' has no attribute {name!r}")
