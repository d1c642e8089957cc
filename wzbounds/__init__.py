"""wzbounds: the limits of KV-cache compression as sequential Wyner-Ziv coding.

The theory side of the toolkit: divergences, decay laws, achievability and
converse bounds for suffix-only cache policies, the block-Markov scheme, and
their symbolic forms. Pure numpy / scipy / sympy / mpmath; never torch.

    >>> import wzbounds as wz
    >>> bound = wz.sliding_window_tv(C=1.0, alpha=0.44, c_B=0.5)
    >>> int(bound.achievable_window(1e-3))
    6579333
"""

from wzbounds import blockmarkov, symbolic
from wzbounds.bayesrisk import SuffixPrediction
from wzbounds.bounds import (
    ExponentTable,
    ThetaBand,
    WindowBound,
    achievable_window_tv,
    exponents,
    kl_mu_constant,
    sliding_window_kl,
    sliding_window_tv,
    theta_band_tv,
)
from wzbounds.conformance import BoundReport, CheckResult, check_bound
from wzbounds.divergences import kl, pinsker_constant, reverse_pinsker_constant, smooth, smoothed_kl, tv
from wzbounds.laws import GeometricLaw, PowerLaw, TwoSided, power_window, two_sided_geometric, two_sided_power
from wzbounds.memory import GEOMETRIES, GIB, CacheMemory, KVGeometry, cache_memory, geometry

__version__ = "0.1.0"

__all__ = [
    "BoundReport",
    "CacheMemory",
    "CheckResult",
    "ExponentTable",
    "GEOMETRIES",
    "GIB",
    "GeometricLaw",
    "KVGeometry",
    "PowerLaw",
    "SuffixPrediction",
    "ThetaBand",
    "TwoSided",
    "WindowBound",
    "achievable_window_tv",
    "blockmarkov",
    "cache_memory",
    "check_bound",
    "exponents",
    "geometry",
    "kl",
    "kl_mu_constant",
    "pinsker_constant",
    "power_window",
    "reverse_pinsker_constant",
    "sliding_window_kl",
    "sliding_window_tv",
    "smooth",
    "smoothed_kl",
    "symbolic",
    "theta_band_tv",
    "tv",
    "two_sided_geometric",
    "two_sided_power",
]
