"""Fitting decay laws to measured curves, model selection, and bootstrap intervals.

Both laws are fitted by least squares in log space:

    power:      log D(w) = log C - alpha log w
    geometric:  log D(w) = log C + w log rho

and scored by the log-RMSE, sqrt(mean (log D_fit - log D)^2) (natural log).
`compare_laws` also fits each law on the small windows (w <= split) and
scores it on the large ones: the extrapolation error, which separates the
two laws far better than the in-sample fit.

Intervals come from a cluster bootstrap: samples (documents, prefixes) are
resampled whole, because windows measured on one document are dependent;
the statistic is recomputed on the mean curve of each resample, and the BCa
interval, its tails expanded for the number of clusters, is reported
(`cluster_bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import as_float_array, in_open_unit, whole_at_least
from wzbounds.curves import Curves
from wzbounds.laws import PowerLaw


def _log_data(windows: ArrayLike, values: ArrayLike) -> tuple[NDArray, NDArray]:
    w = as_float_array("windows", windows)
    y = as_float_array("values", values)
    if w.ndim != 1 or y.shape[-1] != w.size:
        raise ValueError(f"values must end in an axis of len(windows) = {w.size}; got shape {y.shape}")
    if w.size < 2:
        raise ValueError(f"a fit needs at least 2 windows; got {w.size}")
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise ValueError("windows must be finite and > 0")
    bad = ~np.isfinite(y) | (y <= 0)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise ValueError(
            f"values must be finite and > 0 to fit in log space; got {y[tuple(idx)].item()!r} at window {w[idx[-1]]:g}"
        )
    return w, np.log(y)


def _line(x: NDArray, logy: NDArray, weights: NDArray | None) -> tuple[NDArray, NDArray, NDArray]:
    """Weighted least squares logy ~ a + s x over the last axis (batched). Returns (a, s, rmse)."""
    wt = np.ones_like(x) if weights is None else weights
    wt = wt / wt.sum()
    xm = wt @ x
    ym = logy @ wt
    dx = x - xm
    slope = ((logy - ym[..., None]) @ (wt * dx)) / (wt @ dx**2)
    intercept = ym - slope * xm
    resid = logy - (intercept[..., None] + slope[..., None] * x)
    return intercept, slope, np.sqrt((resid**2) @ wt)


@dataclass(frozen=True)
class PowerFit:
    """D(w) ~ C w^-alpha fitted on windows [w_min, w_max]; log_rmse in natural log units."""

    C: float
    alpha: float
    log_rmse: float
    w_min: float
    w_max: float

    @property
    def law(self) -> PowerLaw:
        return PowerLaw(self.C, self.alpha)

    def __call__(self, w: ArrayLike) -> NDArray[np.float64]:
        return self.C * np.asarray(w, dtype=np.float64) ** -self.alpha


@dataclass(frozen=True)
class GeometricFit:
    """D(w) ~ C rho^w fitted on windows [w_min, w_max]."""

    C: float
    rho: float
    log_rmse: float
    w_min: float
    w_max: float

    def __call__(self, w: ArrayLike) -> NDArray[np.float64]:
        return self.C * self.rho ** np.asarray(w, dtype=np.float64)


def _weights(weights: ArrayLike | None, n: int) -> NDArray | None:
    if weights is None:
        return None
    wt = as_float_array("weights", weights)
    if wt.shape != (n,) or np.any(wt < 0) or wt.sum() <= 0:
        raise ValueError(f"weights must be {n} non-negative numbers, not all zero")
    return wt


def fit_power(windows: ArrayLike, values: ArrayLike, weights: ArrayLike | None = None) -> PowerFit:
    """Least squares of log D on log w; `weights` per window (e.g. inverse variances of log D)."""
    w, logy = _log_data(windows, values)
    a, s, rmse = _line(np.log(w), logy, _weights(weights, w.size))
    return PowerFit(float(np.exp(a)), float(-s), float(rmse), float(w.min()), float(w.max()))


def fit_geometric(windows: ArrayLike, values: ArrayLike, weights: ArrayLike | None = None) -> GeometricFit:
    """Least squares of log D on w. rho = exp(slope); a rising curve gives rho >= 1."""
    w, logy = _log_data(windows, values)
    a, s, rmse = _line(w, logy, _weights(weights, w.size))
    return GeometricFit(float(np.exp(a)), float(np.exp(s)), float(rmse), float(w.min()), float(w.max()))


def _score(fit: PowerFit | GeometricFit, w: NDArray, logy: NDArray) -> float:
    with np.errstate(divide="ignore", over="ignore"):
        pred = np.log(fit(w))
    return float(np.sqrt(np.mean((pred - logy) ** 2)))


@dataclass(frozen=True)
class LawComparison:
    """Power law against geometric law on one curve.

    `*_extrapolation` is the log-RMSE on windows > split of the law fitted on
    windows <= split (None when either side has too few windows). `verdict`
    is the law with the smaller extrapolation error, or the smaller in-sample
    error when there is no split; `ratio` is the loser's error over the winner's.
    """

    power: PowerFit
    geometric: GeometricFit
    split: float | None
    power_extrapolation: float | None
    geometric_extrapolation: float | None
    verdict: str
    ratio: float


def compare_laws(windows: ArrayLike, values: ArrayLike, split: float | None = None) -> LawComparison:
    """Fit both laws, score in-sample and extrapolated (fit on w <= split, score on w > split).

    `split` defaults to max(windows) / 4, the protocol of the seed paper.
    """
    w, logy = _log_data(windows, values)
    y = np.exp(logy)
    power, geometric = fit_power(w, y), fit_geometric(w, y)
    split = float(w.max() / 4) if split is None else float(split)
    inner, outer = w <= split, w > split
    if inner.sum() >= 2 and outer.sum() >= 1:
        p_ex = _score(fit_power(w[inner], y[inner]), w[outer], logy[outer])
        g_ex = _score(fit_geometric(w[inner], y[inner]), w[outer], logy[outer])
        errors = {"power": p_ex, "geometric": g_ex}
    else:
        split, p_ex, g_ex = None, None, None
        errors = {"power": power.log_rmse, "geometric": geometric.log_rmse}
    verdict = min(errors, key=errors.get)
    loser = max(errors.values())
    best = min(errors.values())
    ratio = float(loser / best) if best > 0 else float("inf")
    return LawComparison(power, geometric, split, p_ex, g_ex, verdict, ratio)


@dataclass(frozen=True)
class Interval:
    """A bootstrap estimate: the statistic on the full data, its BCa
    interval at `level`, the bootstrap standard error and distribution."""

    estimate: float
    low: float
    high: float
    standard_error: float
    level: float
    distribution: NDArray[np.float64]

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, float]:
        """The numbers without the bootstrap distribution (for JSON)."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high,
                "standard_error": self.standard_error, "level": self.level}


def cluster_bootstrap(
    n_clusters: int,
    statistic: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> Interval:
    """BCa (bias-corrected and accelerated) bootstrap over whole clusters.

    `statistic(rows)` takes an (n_resamples, k) array of cluster indices and
    returns one value per resample (vectorised); it is called with the
    resamples (k = n_clusters), once with the identity for the estimate, and
    with the n leave-one-out sets (k = n_clusters - 1) for the jackknife.

    The interval is the resamples' quantiles at Phi(z0 + (z0 + z) / (1 - a (z0 + z)))
    for z = Phi^-1 of each tail, with z0 = Phi^-1(share of resamples below the
    estimate) and a the jackknife's skewness / 6 (Efron 1987); each tail is
    first expanded for the sample size, z = sqrt(n / (n-1)) t_{n-1}^-1(tail)
    (Hesterberg's expanded percentile: a bootstrap of n clusters is too narrow
    by about that much). With 32 skewed documents the plain percentile
    interval missed the exponent of the SmolLM2 prose panel above its upper
    end 6.3% of the time for a nominal 2.5%, this one 4.3% (docs/validation.md).
    It falls back to the expanded percentile interval when z0 or a is undefined
    (a degenerate distribution, a jackknife value that is not finite).
    """
    n = int(whole_at_least("n_clusters", n_clusters, 2))
    level = float(in_open_unit("level", level))
    n_boot = int(whole_at_least("n_boot", n_boot, 10))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    dist = np.asarray(statistic(draws), dtype=np.float64)
    estimate = float(np.asarray(statistic(np.arange(n)[None]))[0])
    finite = dist[np.isfinite(dist)]
    if finite.size < n_boot // 2:
        raise ValueError("the statistic is undefined on most resamples (zeros or too few windows?)")
    tail = (1 - level) / 2
    low, high = np.quantile(finite, _bca_levels(n, statistic, estimate, finite, (tail, 1 - tail)))
    return Interval(estimate, float(low), float(high), float(finite.std(ddof=1)), level, finite)


def _bca_levels(n: int, statistic: Callable[[NDArray[np.int64]], NDArray[np.float64]], estimate: float,
                dist: NDArray, tails: tuple[float, float]) -> list[float]:
    """The BCa quantile levels for the two tails, expanded for n clusters (cluster_bootstrap); the
    expanded tails themselves when the bias correction or the acceleration is undefined."""
    from scipy.special import stdtrit

    unit = NormalDist()
    tails = tuple(unit.cdf(float(np.sqrt(n / (n - 1)) * stdtrit(n - 1, t))) for t in tails)
    if not np.isfinite(estimate) or not all(0 < t < 1 for t in tails):  # 2 clusters: the tails reach 0 and 1
        return list(tails)
    share = (np.sum(dist < estimate) + 0.5 * np.sum(dist == estimate)) / dist.size
    if not 0 < share < 1:
        return list(tails)
    leave_one_out = np.array([np.delete(np.arange(n), i) for i in range(n)])
    jack = np.asarray(statistic(leave_one_out), dtype=np.float64)
    if not np.all(np.isfinite(jack)):
        return list(tails)
    d = jack.mean() - jack
    spread = float(d @ d)
    a = float((d**3).sum() / (6 * spread**1.5)) if spread > 0 else 0.0
    z0 = unit.inv_cdf(float(share))
    levels = []
    for t in tails:
        z = unit.inv_cdf(t)
        denominator = 1 - a * (z0 + z)
        if denominator <= 0:
            return list(tails)
        levels.append(unit.cdf(z0 + (z0 + z) / denominator))
    return levels


def resampled_means(panel: NDArray, rows: NDArray) -> NDArray:
    """Mean curve of each resample: panel (n_samples, n_windows), rows (n_resamples, n) of sample
    indices -> (n_resamples, n_windows). The building block of every paired bootstrap statistic."""
    return panel[rows].mean(axis=1)


def fitted_exponents(windows: NDArray, means: NDArray) -> NDArray:
    """alpha of the least-squares line through (log w, log mean) for each row of `means`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logy = np.log(means)
        _, slope, _ = _line(np.log(windows), logy, None)
    return -slope


def fitted_laws(windows: NDArray, means: NDArray) -> tuple[NDArray, NDArray]:
    """(C, alpha) of the least-squares power law C w^-alpha through each row of `means` (log-log)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a, slope, _ = _line(np.log(windows), np.log(means), None)
    return np.exp(a), -slope


def asymptotic_range(windows: ArrayLike) -> tuple[float, float]:
    """The fit range for exponents: the upper half of the window grid on the log scale,
    [sqrt(w_min w_max), w_max] (all windows when that leaves fewer than 3).

    Exponents are asymptotic statements; the small windows carry the
    pre-asymptotic bend of every real curve (ARFIMA's delta(w) ~ d/(pi sqrt(w))
    only from w of order 10 on), and a fit over the whole grid is biased by it:
    on ARFIMA d = 0.3 over 1..1024 the 95% interval of beta covered 1 in 73% of
    repetitions, over this range in 95% (docs/sources.md, calibration).
    """
    w = as_float_array("windows", windows)
    low = float(np.sqrt(w.min() * w.max()))
    if (w >= low * (1 - 1e-12)).sum() < 3:
        return float(w.min()), float(w.max())
    return float(w[w >= low * (1 - 1e-12)].min()), float(w.max())


MAX_RELATIVE_ERROR = 0.2  # a window's mean must be measured to 20% relative standard error to enter a fit


def measured_windows(curves: Curves, name: str = "tv", max_relative_error: float = MAX_RELATIVE_ERROR
                     ) -> NDArray[np.float64]:
    """The windows up to the first whose mean curve `name` has a relative standard error
    (sd / (sqrt(n) mean) over samples) above `max_relative_error` (all of them if none has).

    Beyond it the mean is carried by a few rare samples (a heavy-tailed per-sample
    distortion, as on the renewal HMM at large windows), and both the fit and its
    interval fail there (measured with percentile intervals): on the renewal HMM with 200 samples over 1..64,
    the 95% interval covered the population exponent in 57% of repetitions.
    """
    panel = curves.panel(name)
    mean = panel.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rse = panel.std(axis=0, ddof=1) / (np.sqrt(curves.n_samples) * mean) if curves.n_samples > 1 else 0 * mean
    noisy = np.flatnonzero(~(rse <= max_relative_error))
    stop = noisy[0] if noisy.size else curves.windows.size
    return curves.windows[: max(stop, 2)]


def in_fit_range(windows: ArrayLike, fit_range: tuple[float, float] | None) -> NDArray[np.bool_]:
    """Which windows lie in fit_range = (w_min, w_max), inclusive; all of them for None."""
    w = np.asarray(windows, dtype=np.float64)
    if fit_range is None:
        return np.ones(w.size, dtype=bool)
    return (w >= float(fit_range[0])) & (w <= float(fit_range[1]))


def _select(curves: Curves, fit_range: tuple[float, float] | None) -> NDArray[np.bool_]:
    """`in_fit_range` for a fit: at least 2 windows, or a ValueError naming the range."""
    keep = in_fit_range(curves.windows, fit_range)
    if keep.sum() < 2:
        low, high = fit_range
        raise ValueError(f"fit_range [{low:g}, {high:g}] holds {int(keep.sum())} of the windows; a fit needs 2")
    return keep


def exponent_interval(
    curves: Curves, name: str = "tv", *, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
    fit_range: tuple[float, float] | None = None,
) -> Interval:
    """alpha of a power-law fit to the mean curve `name` on the windows in `fit_range`
    (inclusive; None for all), with a cluster-bootstrap interval."""
    keep = _select(curves, fit_range)
    panel = curves.panel(name)[:, keep]
    return cluster_bootstrap(
        curves.n_samples, lambda rows: fitted_exponents(curves.windows[keep], resampled_means(panel, rows)),
        n_boot=n_boot, level=level, seed=seed,
    )


def bend_interval(
    curves: Curves, name: str = "tv", *, fit_range: tuple[float, float] | None = None, n_boot: int = 1000,
    level: float = 0.95, seed: int = 0,
) -> Interval:
    """Exponent on the upper half of the fit range over the exponent on its lower half (halves split
    at the geometric middle, which both keep), paired over resamples: 1 for a single power law,
    above 1 for a curve that steepens, below 1 for one that flattens."""
    keep = _select(curves, fit_range)
    w = curves.windows[keep]
    middle = np.sqrt(w.min() * w.max())
    lower, upper = w <= middle * (1 + 1e-12), w >= middle * (1 - 1e-12)
    if lower.sum() < 2 or upper.sum() < 2:
        lower = upper = np.ones(w.size, dtype=bool)  # too few windows to split: no bend can be seen
    panel = curves.panel(name)[:, keep]

    def stat(rows: NDArray) -> NDArray:
        means = resampled_means(panel, rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            return fitted_exponents(w[upper], means[:, upper]) / fitted_exponents(w[lower], means[:, lower])

    return cluster_bootstrap(curves.n_samples, stat, n_boot=n_boot, level=level, seed=seed)


def _batched_extrapolation(x: NDArray, logy: NDArray, inner: NDArray) -> NDArray:
    """log-RMSE on ~inner of the line fitted on inner, for each row of logy."""
    a, s, _ = _line(x[inner], logy[:, inner], None)
    resid = logy[:, ~inner] - (a[:, None] + s[:, None] * x[~inner])
    return np.sqrt(np.mean(resid**2, axis=1))


ALTERNATIVES = {"geometric": "C rho^w", "stretched": "C exp(-b w^(1/2))"}  # the laws a power law is tested against


def law_preference_interval(
    curves: Curves, name: str = "tv", *, split: float | None = None, against: str = "geometric", n_boot: int = 1000,
    level: float = 0.95, seed: int = 0,
) -> Interval:
    """log(alternative / power extrapolation error) of the mean curve `name`, with a cluster-bootstrap
    interval: > 0 favours the power law, < 0 the alternative, `against` one of ALTERNATIVES:
    "geometric" (log D linear in w) or "stretched" (the stretched exponential exp(-b w^(1/2)),
    log D linear in w^(1/2)).

    Both laws are fitted on windows <= split (default max / 4) and scored by
    their log-RMSE on the windows above it, as in `compare_laws`, on every
    resample of the documents.
    """
    if against not in ALTERNATIVES:
        raise ValueError(f"against must be one of {', '.join(ALTERNATIVES)}; got {against!r}")
    w = curves.windows
    split = float(w.max() / 4) if split is None else float(split)
    inner = w <= split
    if inner.sum() < 2 or (~inner).sum() < 1:
        raise ValueError(f"split {split:g} leaves {int(inner.sum())} windows to fit and {int((~inner).sum())} "
                         "to score; need at least 2 and 1")
    panel = curves.panel(name)
    x_alt = w if against == "geometric" else np.sqrt(w)

    def stat(rows: NDArray) -> NDArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            logy = np.log(resampled_means(panel, rows))
            power = _batched_extrapolation(np.log(w), logy, inner)
            other = _batched_extrapolation(x_alt, logy, inner)
            return np.log(other / power)

    return cluster_bootstrap(curves.n_samples, stat, n_boot=n_boot, level=level, seed=seed)


def growth_interval(
    windows: ArrayLike, top: ArrayLike, bottom: ArrayLike, *, power: float = 1.0,
    fit_range: tuple[float, float] | None = None, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
) -> Interval:
    """Log-log slope in w of the ratio E top / (E bottom)^power, with a cluster-bootstrap interval.

    `top` and `bottom` are (n_samples, n_windows) per-sample panels of the same
    documents, resampled together. REG's R(w) = E TV^2 / (E TV)^2 is top = TV^2,
    bottom = TV, power = 2; FD's K(w) = delta / Delta_TV is top = TV, bottom = the
    TV gap. A slope <= 0 means the ratio does not grow: the constant exists.
    """
    top, bottom = as_float_array("top", top), as_float_array("bottom", bottom)
    w = as_float_array("windows", windows)
    if top.shape != bottom.shape or top.ndim != 2 or top.shape[1] != w.size:
        raise ValueError(f"top and bottom must both be (n_samples, {w.size}); got {top.shape} and {bottom.shape}")
    keep = in_fit_range(w, fit_range)
    if keep.sum() < 2:
        raise ValueError("the fit range holds fewer than 2 windows")
    logw = np.log(w[keep])
    t, b = top[:, keep], bottom[:, keep]

    def stat(rows: NDArray) -> NDArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            logr = np.log(resampled_means(t, rows)) - power * np.log(resampled_means(b, rows))
            return _line(logw, logr, None)[1]

    return cluster_bootstrap(top.shape[0], stat, n_boot=n_boot, level=level, seed=seed)


def exponent_ratio_interval(
    curves: Curves, numerator: str = "kl", denominator: str = "tv", *, n_boot: int = 1000, level: float = 0.95,
    seed: int = 0, fit_range: tuple[float, float] | None = None,
) -> Interval:
    """alpha_numerator / alpha_denominator (e.g. alpha_KL / alpha_TV), both fitted on the
    windows in `fit_range` of the same resampled documents, with a cluster-bootstrap interval."""
    keep = _select(curves, fit_range)
    w = curves.windows[keep]
    top, bottom = curves.panel(numerator)[:, keep], curves.panel(denominator)[:, keep]

    def stat(rows: NDArray) -> NDArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return fitted_exponents(w, resampled_means(top, rows)) / fitted_exponents(w, resampled_means(bottom, rows))

    return cluster_bootstrap(curves.n_samples, stat, n_boot=n_boot, level=level, seed=seed)


def plot_fits(
    windows: ArrayLike,
    values: ArrayLike,
    *,
    comparison: LawComparison | None = None,
    interval: Interval | None = None,
    fit_range: tuple[float, float] | None = None,
    label: str = "measured",
    ax=None,
):
    """Data, the fitted power law with its alpha interval as a band, and the power/geometric
    extrapolation comparison, on log-log axes.

    With `interval`, the solid line is the fit the interval is about: exponent
    `interval.estimate` on `fit_range` (default: every window), its constant the
    least-squares intercept there, and the band the interval's ends through the same
    pivot, drawn over the fit range. The comparison's two laws (fitted on every window,
    for the extrapolation test) are drawn thin and dashed. Returns the matplotlib Axes
    (matplotlib is imported only here).
    """
    import matplotlib.pyplot as plt

    w, logy = _log_data(windows, values)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(w, np.exp(logy), "o", color="black", label=label)
    comparison = comparison or compare_laws(w, np.exp(logy))
    grid = np.geomspace(w.min(), w.max(), 200)
    p, g = comparison.power, comparison.geometric
    style = {"lw": 0.9, "alpha": 0.7} if interval is not None else {}
    ax.loglog(grid, p(grid), "--" if interval is not None else "-", color="tab:cyan" if interval is not None
              else "tab:blue", label=f"power on every window: {p.C:.3g} w^-{p.alpha:.3f} (log-RMSE {p.log_rmse:.3f})",
              **style)
    ax.loglog(grid, g(grid), "--", color="tab:red", label=f"geometric: {g.C:.3g} {g.rho:.4f}^w (log-RMSE {g.log_rmse:.3f})",
              **style)
    if interval is not None:
        low, high = (w.min(), w.max()) if fit_range is None else fit_range
        keep = (w >= low) & (w <= high)
        lw, ly = np.log(w[keep]), logy[keep]
        log_c = float(np.mean(ly + interval.estimate * lw))
        pivot = float(np.exp(np.mean(lw)))
        at_pivot = np.exp(log_c) * pivot**-interval.estimate
        span = np.geomspace(w[keep].min(), w[keep].max(), 100)
        ax.loglog(span, np.exp(log_c) * span**-interval.estimate, "-", color="tab:blue", lw=2,
                  label=f"fit on [{low:g}, {high:g}]: {np.exp(log_c):.3g} w^-{interval.estimate:.3f}")
        ax.fill_between(span, at_pivot * (span / pivot) ** -interval.low, at_pivot * (span / pivot) ** -interval.high,
                        color="tab:blue", alpha=0.15,
                        label=f"alpha {interval.level:.0%} interval [{interval.low:.3f}, {interval.high:.3f}]")
    if comparison.split is not None:
        ax.axvline(comparison.split, color="grey", lw=0.8, ls=":", label=f"extrapolation split w = {comparison.split:g}")
    ax.set_xlabel("window w (tokens)")
    ax.set_ylabel("distortion")
    ax.legend(fontsize=8)
    return ax
