"""How an exponent depends on where it is fitted: sub-range fits and local slopes, with intervals.

A measured curve is a power law only asymptotically; its fitted exponent moves
with the fit range (SmolLM2 natural, quick preset: 0.30 on budgets 1..64, 0.38
on 8..64). So a reported exponent comes with this table:

    range_exponents(curves)  alpha on every contiguous sub-range of the measured
                             windows spanning at least `min_decades` decades (and
                             3 windows), each with its cluster-bootstrap interval
    local_slopes(curves)     -d log E[curve] / d log w between consecutive windows,
                             each with its interval

Both resample documents whole, like every interval in wzbounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wzbounds.curves import Curves
from wzbounds.fit import Interval, cluster_bootstrap, fitted_exponents, measured_windows, resampled_means


@dataclass(frozen=True)
class RangeExponent:
    """The exponent of curve `name` fitted on windows low..high (tokens), with its interval."""

    low: float
    high: float
    alpha: Interval

    def to_dict(self) -> dict[str, float]:
        return {"from": self.low, "to": self.high, "estimate": self.alpha.estimate, "low": self.alpha.low,
                "high": self.alpha.high}


def range_exponents(curves: Curves, name: str = "tv", *, min_decades: float = 1.0, n_boot: int = 1000,
                    level: float = 0.95, seed: int = 0) -> tuple[RangeExponent, ...]:
    """alpha of the least-squares power law on every contiguous sub-range [w_i, w_j] of the measured
    windows with log10(w_j / w_i) >= min_decades and at least 3 windows, longest ranges first."""
    w = measured_windows(curves, name)
    panel = curves.panel(name)[:, : w.size]
    out = []
    for i in range(w.size):
        for j in range(i + 2, w.size):
            if np.log10(w[j] / w[i]) < min_decades - 1e-12:
                continue
            cols = slice(i, j + 1)
            iv = cluster_bootstrap(curves.n_samples,
                                   lambda rows, c=cols: fitted_exponents(w[c], resampled_means(panel[:, c], rows)),
                                   n_boot=n_boot, level=level, seed=seed)
            out.append(RangeExponent(float(w[i]), float(w[j]), iv))
    return tuple(sorted(out, key=lambda r: (-(r.high / r.low), r.low)))


def local_slopes(curves: Curves, name: str = "tv", *, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[RangeExponent, ...]:
    """-d log E[name] / d log w between each pair of consecutive measured windows, with intervals:
    where the exponent bends (one slope throughout for a single power law)."""
    w = measured_windows(curves, name)
    panel = curves.panel(name)[:, : w.size]
    out = []
    for i in range(w.size - 1):
        cols = slice(i, i + 2)
        iv = cluster_bootstrap(curves.n_samples,
                               lambda rows, c=cols: fitted_exponents(w[c], resampled_means(panel[:, c], rows)),
                               n_boot=n_boot, level=level, seed=seed)
        out.append(RangeExponent(float(w[i]), float(w[i + 1]), iv))
    return tuple(out)
