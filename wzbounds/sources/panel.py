"""Panels of noisy power-law curves with an exactly known population exponent.

Sample i has the curve y_i(w) = C w^-alpha A_i E_i(w), with a per-sample
amplitude A_i and per-window noise E_i(w), both log-normal with mean 1, so
the population mean curve is exactly C w^-alpha and its power-law fit has
exponent alpha on any window grid. This is the source on which interval
calibration is measured (coverage of the nominal 95% cluster bootstrap).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from wzbounds._checks import at_least, positive, whole_at_least
from wzbounds.curves import Curves
from wzbounds.sources._base import windows_grid


def power_law_panel(
    C: float, alpha: float, windows: ArrayLike, n: int, rng: np.random.Generator, *,
    amplitude_sd: float = 0.5, noise_sd: float = 0.3,
) -> Curves:
    """n samples of C w^-alpha times mean-one log-normal noise (sd of the logs given), as TV curves."""
    w = windows_grid(windows)
    n = int(whole_at_least("n", n, 1))
    C, alpha = float(positive("C", C)), float(positive("alpha", alpha))
    sa, sn = float(at_least("amplitude_sd", amplitude_sd, 0.0)), float(at_least("noise_sd", noise_sd, 0.0))
    amplitude = np.exp(sa * rng.standard_normal((n, 1)) - sa**2 / 2)
    noise = np.exp(sn * rng.standard_normal((n, w.size)) - sn**2 / 2)
    y = C * w**-alpha * amplitude * noise
    return Curves(w, np.minimum(y, 1.0))
