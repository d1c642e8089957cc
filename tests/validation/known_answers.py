"""Synthetic measurement panels whose truth is known, for the verdict logic of validation.claims.

    power      every curve a power law in the budget, on 32 documents (the quick preset's sample):
               sliding TV ~ 0.8 w^-0.4 with KL_mu = 1.5 TV^2 (so alpha_KL = 2 alpha_TV and REG hold),
               re-indexed = preserved (RoPE), sink+recent with the same exponents, random-K decaying
               as w^-0.05 (about 23x worse in KL_mu at w = 64: beats random, not by 100x), evict
               decaying as w^-0.6 (faster than the window). The truth of every claim is in TRUTH.
    geometric  the sliding-window curve of a two-state Markov HMM (the filter forgets geometrically):
               the power law is false.
    few        the power world on 3 documents: every claim must be inconclusive.
"""

from __future__ import annotations

import numpy as np

from validation.claims import DomainData
from wzbounds.curves import Curves
from wzbounds.sources.hmm import MarkovHMM
from wzbounds.sources.panel import power_law_panel

BUDGETS = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)
N_DOCUMENTS = 32
KAPPA = 1.5
TRUTH = {  # claim -> True (holds) / False (fails) in the power world; absent: no truth to score
    "power_law": True, "alpha_tv": True, "position_ablation": True, "kl_doubling": True, "sink_recovery": True,
    "recency_vs_random": True, "recency_two_orders": False, "bound_prediction": True,
    "propagating_sliding_evict": True,
}


def _with_kl(c: Curves) -> Curves:
    return Curves(c.windows, c.tv, kl=KAPPA * c.tv**2, mu=0.1)


def power_world(rng: np.random.Generator, n: int = N_DOCUMENTS) -> DomainData:
    sliding = _with_kl(power_law_panel(0.8, 0.4, BUDGETS, n, rng))
    sink = _with_kl(power_law_panel(0.5, 0.4, BUDGETS, n, rng))
    random = _with_kl(power_law_panel(0.9, 0.05, BUDGETS, n, rng))
    evict = _with_kl(power_law_panel(0.8, 0.6, BUDGETS, n, rng))
    return DomainData("power", sliding, sliding, {0.1: sliding}, sink, 4, random, {"sliding-evict": evict})


def geometric_world(rng: np.random.Generator, n: int = N_DOCUMENTS) -> DomainData:
    source = MarkovHMM(transition=((0.95, 0.05), (0.05, 0.95)))
    sliding = source.sample_curves(BUDGETS, n, rng)
    return DomainData("geometric", sliding, None, {0.1: sliding}, None, 4, None, {})
