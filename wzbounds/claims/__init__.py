"""The analysis layer: every claim wzbounds decides on measured curves, one function each.

Each rule takes `Curves` (per-document panels, paired by sample) and returns the
one `Verdict`, decided from the cluster-bootstrap interval of the quantity the
claim is about. `validate`, `arena`, `check` and `compare` all call these
functions, so the same curves give the same verdict through every command.

Beating the suffix-only scaling (`wzbounds.claims.scaling`):
    faster_decay, less_memory, pair, memory_to_reach
The seed paper's claims about suffix-only caches (`wzbounds.claims.paper`):
    power_law, alpha_positive, alpha_agrees, same_positions, kl_doubling,
    sink_recovery, recency, bound_prediction, theta_window
"""

from wzbounds.claims.paper import (IDENTITY_TOLERANCE, LARGE_BUDGET, PAPER, PAPER_TOLERANCE, PREDICTION_FACTOR,
                                   THETA_EPS, TWO_ORDERS, alpha_agrees, alpha_positive, bound_prediction,
                                   exponent_ratio, kl_doubling, power_law, recency, same_positions, sink_fit_range,
                                   sink_recovery, theta_window)
from wzbounds.claims.scaling import MARGIN, MIN_DECADES, Pair, faster_decay, less_memory, memory_to_reach, pair

__all__ = [
    "IDENTITY_TOLERANCE", "LARGE_BUDGET", "MARGIN", "MIN_DECADES", "PAPER", "PAPER_TOLERANCE", "PREDICTION_FACTOR",
    "THETA_EPS", "TWO_ORDERS", "Pair", "alpha_agrees", "alpha_positive", "bound_prediction", "exponent_ratio",
    "faster_decay", "kl_doubling", "less_memory", "memory_to_reach", "pair", "power_law", "recency",
    "same_positions", "sink_fit_range", "sink_recovery", "theta_window",
]
