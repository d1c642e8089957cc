"""Cache policies: which entries of the KV cache stay, or how the cache is rewritten.

    base        the public base classes users subclass (`Policy`, `CachePolicy`) and
                the declarations the engine dispatches on
    kept        the kept-set policies: sliding, sink, random, heavy, h2o, snapkv
    summaries   policies that rewrite the cache (their base class) and merge
    pooling     pooled summaries: pooled, multiscale
    quantizers  quantized summaries: quantized, kivi
    presses     any kvpress press as a policy (kvpress:<Press>)
    registry    every policy by name, and the spec grammar of the CLI

`validation.testing.check_policy` checks a policy against what it declares.
"""

from validation.policies.base import CachePolicy, Policy
from validation.policies.kept import H2O, HeavyHitter, RandomK, SinkRecent, SlidingWindow, SnapKV
from validation.policies.pooling import MultiScale, PooledBlocks
from validation.policies.presses import DEFAULT_PRESSES, KvPress
from validation.policies.quantizers import Kivi, QuantizedTail
from validation.policies.registry import (
                                          POLICIES,
                                          hyperparameters,
                                          make_policy,
                                          parse_policy,
                                          register_policy,
                                          split_specs,
)
from validation.policies.summaries import CacheSummary, MergeOnEvict

__all__ = ["CachePolicy", "Policy", "H2O", "HeavyHitter", "RandomK", "SinkRecent", "SlidingWindow", "SnapKV",
           "DEFAULT_PRESSES", "KvPress", "POLICIES", "hyperparameters", "make_policy", "parse_policy",
           "register_policy", "split_specs", "CacheSummary", "MergeOnEvict", "PooledBlocks", "MultiScale", "QuantizedTail", "Kivi"]
