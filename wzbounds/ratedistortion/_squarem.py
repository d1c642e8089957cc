"""SQUAREM: squared extrapolation for slow monotone fixed-point maps (Varadhan and Roland, 2008).

Blahut-Arimoto-type iterations x <- F(x) decrease a Lagrangian but crawl
(linearly with a rate near 1, or sublinearly) where the curve has a kink or
the slope is near a critical one. SQUAREM takes two plain steps, r = F(x) - x
and v = F(F(x)) - 2 F(x) + x, jumps to x - 2a r + a^2 v with the steplength
a = -|r| / |v| (capped at -1, where the jump is the plain double step), and
stabilises with one more plain step. A jump that raises the objective is
refused (the plain double step is kept), so the iteration stays monotone
and keeps the plain map's fixed points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def squarem(step: Callable[[Array], Array], objective: Callable[[Array], float], x: Array,
            converged: Callable[[Array], bool], max_iter: int) -> tuple[Array, int]:
    """Iterate until `converged(x)` or `max_iter` evaluations of `step`; returns (x, evaluations).
    The last one or two evaluations are plain steps where a full cycle (three) would overrun."""
    evaluations = 0
    while not converged(x) and evaluations < max_iter:
        if max_iter - evaluations < 3:
            x = step(x)
            evaluations += 1
            continue
        x1 = step(x)
        x2 = step(x1)
        evaluations += 2
        r = x1 - x
        v = x2 - x1 - r
        norm_v = float(np.linalg.norm(v))
        if norm_v == 0.0 or not np.isfinite(norm_v):
            x = x2
            continue
        a = min(-float(np.linalg.norm(r)) / norm_v, -1.0)
        jump = step(x - 2 * a * r + a * a * v)
        evaluations += 1
        x = jump if np.all(np.isfinite(jump)) and objective(jump) <= objective(x2) else x2
    return x, evaluations
