"""The measurement engine: next-token laws under a cache policy, against the full context.

For a prefix x_0..x_{L-1} and targets t (the last positions of the prefix),
the full-context law p_t comes from one forward pass. A cache policy with
budget k keeps positions K_t (always including t), and the approximate law
q_t comes from one of three modes:

    recompute  the model runs on the kept tokens only, positions preserved
               (position ids = the original positions) or re-indexed from 0
    evict      the full prefix is prefilled once; for target t the cache is cut to
               positions < t, the policy's entries are kept, and x_t runs against
               them. Kept entries were computed with the evicted tokens present,
               so this is NOT suffix-only. On full-attention models every (t, k) runs
               in one forward of the queries under a 4D mask over the prefix cache;
               one cache edit per pair is the reference.
               Summaries (merge, pooled, multiscale, quantized, kivi:
               validation.policies.summaries) rewrite the cache cut before t and x_t runs
               against it; kvpress presses (validation.policies.presses) compress while
               prefilling x_0..x_{t-1}. Both run one forward of x_t per (t, k).
    online     token-by-token decoding from position 0, evicting after every step
               (StreamingLLM style), for policies with a static kept set; on
               full-attention models one forward under the mask whose row j is the
               kept set at step j; the token-by-token decoder is the reference. Streaming
               summaries are carried through decoding (validation.engine.carried): every
               entry computed against the summary of the entries before it.

Recompute has two engines. The naive one runs one forward per (t, k). The
anchored one serves every policy whose kept set is a fixed head H (empty,
or the sinks) plus a contiguous run [s, t]: one forward over H + x_s..x_{L-1}
yields, at every target t >= s, the law with budget |H| + t - s + 1. Anchors
are batched with left padding so all rows end at the last target. The cheaper
engine (counted in forward tokens) is used; both give the same numbers.

Divergences are computed in float64 from the logits: TV and KL_mu for each mu.
The compared laws travel as raw logits (the model's dtype, half the memory of
float64 log-probabilities) and are normalised in float64 a block of rows at a
time, next to their use.
"""

from validation.engine.evict import EvictMode
from validation.engine.laws import FullSide, PrefixContext
from validation.engine.masks import AttentionLayout
from validation.engine.online import OnlineMode
from validation.engine.recompute import POSITIONS, RecomputeMode

MODES = ("recompute", "evict", "online")


class Engine(RecomputeMode, EvictMode, OnlineMode):
    """Runs a loaded model (validation.data.models.LoadedModel) for the three modes: `context`
    (the full-context laws of one prefix), then `recompute`, `evict` and `online` on it.

    Every forward states its attention mask explicitly (validation.engine.masks): the policy's kept
    entries, causality, and for sliding-window layers the window measured on position ids, so
    one code path serves full-attention, sliding-window and interleaved models alike."""


__all__ = ["MODES", "POSITIONS", "AttentionLayout", "Engine", "FullSide", "PrefixContext"]
