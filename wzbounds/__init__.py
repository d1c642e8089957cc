"""wzbounds: the limits of KV-cache compression as sequential Wyner-Ziv coding.

The theory side of the toolkit: divergences, decay laws, achievability and
converse bounds for suffix-only cache policies, the block-Markov scheme, and
their symbolic forms. Pure numpy / scipy / sympy / mpmath; never torch.

    >>> import wzbounds as wz
    >>> bound = wz.sliding_window_tv(C=1.0, alpha=0.44, c_B=0.5)
    >>> int(bound.achievable_window(1e-3))
    6579333

Names are loaded on first use (PEP 562), so `import wzbounds` costs next to
nothing and pulls in neither scipy nor sympy until a function needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_NAMES: dict[str, str] = {
    # submodules
    "blockmarkov": "", "symbolic": "", "testing": "", "sources": "", "fit": "", "assumptions": "",
    "ratedistortion": "", "curves": "", "verdict": "", "claims": "",
    # names, by the module that defines them
    "SuffixPrediction": "bayesrisk",
    "ExponentRow": "bounds", "ExponentTable": "bounds", "ThetaBand": "bounds", "WindowBound": "bounds",
    "achievable_window_tv": "bounds", "exponents": "bounds", "kl_mu_constant": "bounds",
    "sliding_window_kl": "bounds", "sliding_window_tv": "bounds", "theta_band_tv": "bounds",
    "BoundReport": "testing.conformance", "check_bound": "testing.conformance",
    "faster_decay": "claims", "less_memory": "claims",
    "kl": "divergences", "pinsker_constant": "divergences", "reverse_pinsker_constant": "divergences",
    "smooth": "divergences", "smoothed_kl": "divergences", "tv": "divergences",
    "GeometricLaw": "laws", "PowerLaw": "laws", "TwoSided": "laws", "power_window": "laws",
    "two_sided_geometric": "laws", "two_sided_power": "laws",
    "GEOMETRIES": "memory", "GIB": "memory", "CacheMemory": "memory", "KVGeometry": "memory",
    "cache_memory": "memory", "geometry": "memory",
    "Verdict": "verdict",
}

__all__ = sorted(_NAMES)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily
    from wzbounds import (assumptions, blockmarkov, claims, curves, fit, ratedistortion, sources, symbolic, testing,
                          verdict)
    from wzbounds.claims import faster_decay, less_memory
    from wzbounds.bayesrisk import SuffixPrediction
    from wzbounds.bounds import (ExponentRow, ExponentTable, ThetaBand, WindowBound, achievable_window_tv, exponents,
                                 kl_mu_constant, sliding_window_kl, sliding_window_tv, theta_band_tv)
    from wzbounds.divergences import kl, pinsker_constant, reverse_pinsker_constant, smooth, smoothed_kl, tv
    from wzbounds.laws import GeometricLaw, PowerLaw, TwoSided, power_window, two_sided_geometric, two_sided_power
    from wzbounds.memory import GEOMETRIES, GIB, CacheMemory, KVGeometry, cache_memory, geometry
    from wzbounds.testing.conformance import BoundReport, check_bound
    from wzbounds.verdict import Verdict


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'wzbounds' has no attribute {name!r}")
    where = _NAMES[name]
    value = (importlib.import_module(f"wzbounds.{name}") if not where
             else getattr(importlib.import_module(f"wzbounds.{where}"), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
