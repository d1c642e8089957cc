"""Calibration of the exponent intervals: how often a nominal 95% interval covers the truth.

`interval_coverage` repeats an experiment: draw a panel of curves from a source,
fit the exponent of one curve on the fit range with its cluster-bootstrap
interval (`wzbounds.fit.exponent_interval`), and record whether the interval
covers the true exponent. The coverage is reported with its binomial standard
error and a Wilson interval, beside the bias and spread of the estimates, so a
miscalibration can be told apart from bad luck.

The truth is the exponent the interval is for: the population least-squares
slope of the expected curve over the fit range. For a source with an exact
expected curve it is computed from it; otherwise from one very large sample
(`population_exponent`), whose own standard error is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wzbounds._checks import in_open_unit, whole_at_least
from wzbounds.curves import Curves
from wzbounds.fit import Interval, asymptotic_range, exponent_interval


@dataclass(frozen=True)
class Coverage:
    """How often the nominal `level` interval covered `truth` in `reps` repetitions.

    coverage = hits / reps; standard_error = sqrt(coverage (1 - coverage) / reps);
    wilson = the 95% Wilson score interval of the coverage; bias = mean estimate - truth;
    spread = standard deviation of the estimates; mean_width = mean interval width.
    """

    curve: str
    truth: float
    level: float
    reps: int
    hits: int
    fit_range: tuple[float, float]
    bias: float
    spread: float
    mean_width: float

    @property
    def coverage(self) -> float:
        return self.hits / self.reps

    @property
    def standard_error(self) -> float:
        c = self.coverage
        return float(np.sqrt(c * (1 - c) / self.reps))

    @property
    def wilson(self) -> tuple[float, float]:
        z, n, c = 1.959963984540054, self.reps, self.coverage
        centre = (c + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(c * (1 - c) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return float(centre - half), float(centre + half)

    def calibrated(self) -> bool:
        """The nominal level lies in the 95% Wilson interval of the measured coverage."""
        low, high = self.wilson
        return bool(low <= self.level <= high)


def population_exponent(curves: Curves, name: str, fit_range: tuple[float, float]) -> tuple[float, float]:
    """(exponent, standard error) of the power-law fit to the mean curve of one large sample on the
    fit range; the standard error from 200 cluster-bootstrap resamples."""
    iv = exponent_interval(curves, name, n_boot=200, seed=0, fit_range=fit_range)
    return iv.estimate, iv.standard_error


def interval_coverage(
    draw: Callable[[np.random.Generator], Curves], name: str, truth: float, *, reps: int = 1000,
    fit_range: tuple[float, float] | None = None, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Coverage:
    """Repeat `reps` times: curves = draw(rng); interval of curve `name`'s exponent on `fit_range`
    (default `asymptotic_range` of the drawn windows); count the intervals covering `truth`.
    `progress(i)` is called after each repetition."""
    reps = int(whole_at_least("reps", reps, 1))
    level = float(in_open_unit("level", level))
    rng = np.random.default_rng(seed)
    estimates, widths, hits, used_range = [], [], 0, fit_range
    for i in range(reps):
        curves = draw(rng)
        used_range = asymptotic_range(curves.windows) if fit_range is None else fit_range
        iv: Interval = exponent_interval(curves, name, n_boot=n_boot, level=level, seed=seed + i, fit_range=used_range)
        hits += iv.covers(truth)
        estimates.append(iv.estimate)
        widths.append(iv.high - iv.low)
        if progress is not None:
            progress(i)
    est = np.asarray(estimates)
    return Coverage(name, float(truth), level, reps, int(hits), tuple(float(v) for v in used_range),
                    float(est.mean() - truth), float(est.std(ddof=1)) if reps > 1 else 0.0, float(np.mean(widths)))
