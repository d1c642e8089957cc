"""Does a contender beat the suffix-only scaling? Two decision rules on paired curves.

A contender (a propagating summary, a press, any cache policy) is compared
with a reference (the suffix-only sliding window) measured on the same
samples (documents) at the same budgets. Two claims, each decided from a
paired cluster-bootstrap interval (documents resampled whole, the same
documents for both curves in every resample):

    faster_decay   the contender's asymptotic exponent is larger than the
                   reference's by more than `margin` (relative).
                   Quantity: r = alpha_contender / alpha_reference, both fitted
                   on the upper half (log scale) of the shared budgets; and q =
                   the contender's mean over the reference's at the top budget.
                   The budgets must span at least `min_decades` decades, else
                   the verdict is inconclusive (r is still reported).
                   holds         r.low > 1 + margin and q.high < 1
                   fails         r.high <= 1 + margin
                   inconclusive  otherwise; in particular a steeper contender
                                 that is still worse at the top budget (a
                                 catch-up) is never a win, and a better
                                 constant with the same exponent is not one
                                 either (r straddles 1 + margin, or fails)
    less_memory    the contender needs less memory than the reference to
                   reach distortion eps, for eps inside both measured ranges.
                   Quantity: m = M_contender(eps) / M_reference(eps), M the
                   memory (tokens by default, or bytes) at which the mean curve,
                   interpolated log-log between budgets, first reaches eps.
                   holds m.high < 1, fails m.low > 1, else inconclusive; eps
                   not reached inside the measured budgets is inconclusive.

Two rules leave either claim undecided whatever its interval: fewer than
`MIN_SAMPLES` shared samples (a percentile bootstrap over so few clusters is
too narrow to trust), and, for faster_decay, a curve `saturated` at a budget
inside the fit range (its compressed past already covers the whole context,
so that part of the curve measures precision, not scaling). Both come with
the curves (`Curves.saturated`, `Curves.memory`: `wzbounds export` writes
them), so `wzbounds compare` and the arena decide alike.

The alternatives a skeptic names for "beats the scaling" are a better
constant with the same exponent and a catch-up (worse everywhere, steeper):
`tests/test_claims.py` measures both rules on such worlds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds.curves import Curves
from wzbounds.fit import asymptotic_range, cluster_bootstrap, fitted_exponents, resampled_means
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict, too_few, undecided

MARGIN = 0.05  # faster_decay: the exponent ratio must exceed 1 + MARGIN
MIN_DECADES = 2.0  # faster_decay: the budgets must span at least this many decades


@dataclass(frozen=True)
class Pair:
    """Two panels on their shared samples (rows, in the reference's order) and windows; each
    curve's memory on those windows (None: not given) and which of them either curve saturates."""

    windows: NDArray[np.float64]
    reference: NDArray[np.float64]
    contender: NDArray[np.float64]
    samples: tuple[str, ...] | None
    memory_reference: NDArray[np.float64] | None = None
    memory_contender: NDArray[np.float64] | None = None
    saturated: NDArray[np.bool_] | None = None

    @property
    def n_samples(self) -> int:
        return self.reference.shape[0]


def pair(reference: Curves, contender: Curves, name: str = "tv") -> Pair:
    """The two curves `name` paired by sample id (when both name their samples; else row by
    row, which needs equal sample counts) on the windows both measured."""
    if reference.samples is not None and contender.samples is not None:
        index = {s: i for i, s in enumerate(contender.samples)}
        shared = [s for s in reference.samples if s in index]
        if len(shared) < 2:
            raise ValueError(f"the two curve sets share {len(shared)} samples by name; pairing needs at least 2")
        rows_r = [reference.samples.index(s) for s in shared]
        rows_c = [index[s] for s in shared]
        ids: tuple[str, ...] | None = tuple(shared)
    else:
        if reference.n_samples != contender.n_samples:
            raise ValueError(f"without sample names the curves pair row by row, which needs equal sample counts; got "
                             f"{reference.n_samples} and {contender.n_samples}")
        rows_r = rows_c = list(range(reference.n_samples))
        ids = None
    windows, jr, jc = np.intersect1d(reference.windows, contender.windows, return_indices=True)
    if windows.size < 3:
        raise ValueError(f"the two curve sets share {windows.size} windows; the rules need at least 3")
    saturated = [c.saturated[j] for c, j in ((reference, jr), (contender, jc)) if c.saturated is not None]
    return Pair(windows, reference.panel(name)[np.ix_(rows_r, jr)], contender.panel(name)[np.ix_(rows_c, jc)], ids,
                None if reference.memory is None else reference.memory[jr],
                None if contender.memory is None else contender.memory[jc],
                np.logical_or.reduce(saturated) if saturated else None)


def _saturation(p: Pair, low: float, high: float) -> str | None:
    """Why faster_decay is not decided when a curve saturates inside the fit range [low, high]."""
    if p.saturated is None:
        return None
    inside = p.windows[p.saturated & (p.windows >= low) & (p.windows <= high)]
    if inside.size == 0:
        return None
    return (f"not decided by rule: from budget {inside.min():g} on, within the fit range, a compressed past covers "
            "the whole context, so more memory buys precision, not reach, and the curve there is not its scaling "
            "(measure longer contexts)")


def faster_decay(reference: Curves, contender: Curves, *, name: str = "tv", margin: float = MARGIN,
                 min_decades: float = MIN_DECADES, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> Verdict:
    """Decide "the contender's asymptotic exponent exceeds the reference's by more than `margin`"
    (module docstring). The verdict's interval is that of r = alpha_contender / alpha_reference;
    its numbers hold both exponents, the top-budget ratio q with its interval and the fit range."""
    p = pair(reference, contender, name)
    verdict = _faster_decay(p, margin, min_decades, {"n_boot": n_boot, "level": level, "seed": seed})
    why = too_few(p.n_samples) or _saturation(p, *asymptotic_range(p.windows))
    return verdict if why is None else undecided(verdict, why)


def _faster_decay(p: Pair, margin: float, min_decades: float, boot: dict) -> Verdict:
    w = p.windows
    decades = float(np.log10(w[-1] / w[0]))
    low, high = asymptotic_range(w)
    keep = (w >= low) & (w <= high)
    if (p.reference[:, keep].mean(0) <= 0).any() or (p.contender[:, keep].mean(0) <= 0).any():
        return Verdict("faster_decay", INCONCLUSIVE, "a mean curve is 0 on the fit range: no exponent to fit", None)
    wk = w[keep]

    def exponents(rows):
        return (fitted_exponents(wk, resampled_means(p.reference[:, keep], rows)),
                fitted_exponents(wk, resampled_means(p.contender[:, keep], rows)))

    def ratio(rows):
        a_r, a_c = exponents(rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a_r > 0, a_c / a_r, np.nan)

    def top(rows):
        with np.errstate(divide="ignore", invalid="ignore"):
            return resampled_means(p.contender[:, -1:], rows)[:, 0] / resampled_means(p.reference[:, -1:], rows)[:, 0]

    alpha_r = cluster_bootstrap(p.n_samples, lambda rows: exponents(rows)[0], **boot)
    alpha_c = cluster_bootstrap(p.n_samples, lambda rows: exponents(rows)[1], **boot)
    numbers = {"alpha_reference": alpha_r.estimate, "alpha_contender": alpha_c.estimate,
               "fit_range": (float(low), float(high)), "decades": decades, "margin": margin}
    if alpha_r.low <= 0:
        return Verdict("faster_decay", INCONCLUSIVE, f"the reference's exponent interval [{alpha_r.low:.3g}, "
                       f"{alpha_r.high:.3g}] reaches 0: it does not decay measurably, so no ratio", None, numbers)
    r = cluster_bootstrap(p.n_samples, ratio, **boot)
    q = cluster_bootstrap(p.n_samples, top, **boot)
    numbers.update(top_ratio=q.estimate, top_ratio_low=q.low, top_ratio_high=q.high, top_budget=float(w[-1]))
    head = (f"alpha_contender / alpha_reference = {r.estimate:.3g} [{r.low:.3g}, {r.high:.3g}] on budgets "
            f"{low:g}..{high:g} (alpha {alpha_c.estimate:.3g} against {alpha_r.estimate:.3g}); the contender's mean "
            f"over the reference's at budget {w[-1]:g} = {q.estimate:.3g} [{q.low:.3g}, {q.high:.3g}]")
    if decades >= min_decades:  # decided on r: more documents could decide an inconclusive one
        numbers.update(estimate=r.estimate, claimed=(1 + margin, np.inf))
    if decades < min_decades:
        outcome, why = INCONCLUSIVE, (f"the shared budgets span {decades:.2f} decades; an asymptotic exponent needs "
                                      f"at least {min_decades:g} (the ratio above is not decided on)")
    elif r.low > 1 + margin and q.high < 1:
        outcome, why = HOLDS, f"steeper by more than {margin:.0%} and better at the top budget"
    elif r.high <= 1 + margin:
        outcome, why = FAILS, f"the exponent is not larger by more than {margin:.0%}: a constant-factor gain at most"
    elif r.low > 1 + margin:
        outcome, why = INCONCLUSIVE, ("steeper, but not better at the top budget: a catch-up, not yet a win "
                                      "(larger budgets would decide)")
    else:
        outcome, why = INCONCLUSIVE, f"the ratio's interval straddles 1 + {margin:g}: the data cannot decide"
    return Verdict("faster_decay", outcome, f"{head}: {why}", (r.low, r.high), numbers)


def memory_to_reach(windows: NDArray, memory: NDArray, means: NDArray, eps: float) -> NDArray:
    """For each row of `means` (resamples x windows), the memory at which the mean curve,
    interpolated log-log between windows, first reaches eps; nan when it never does inside the
    measured windows or already does at the first (the range cannot place it)."""
    below = means <= eps
    first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    ok = first >= 1
    j = np.clip(first, 1, windows.size - 1)
    rows = np.arange(means.shape[0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y0, y1 = np.log(means[rows, j - 1]), np.log(means[rows, j])
        t = np.where(y1 < y0, (np.log(eps) - y0) / (y1 - y0), 1.0)
        logm = np.log(memory[j - 1]) + t * (np.log(memory[j]) - np.log(memory[j - 1]))
        return np.where(ok, np.exp(logm), np.nan)


def less_memory(reference: Curves, contender: Curves, eps: ArrayLike | None = None, *, name: str = "tv",
                reference_memory: ArrayLike | None = None, contender_memory: ArrayLike | None = None,
                n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> list[Verdict]:
    """Decide "the contender needs less memory than the reference to reach eps" for each eps
    (module docstring). Memory is the given memory at each of a curve's windows, else the
    curve's own (`Curves.memory`: bytes, say), else its windows (tokens); both curves must count
    it alike. eps defaults to the larger of the two mean curves at the budget
    three quarters up the grid (log scale), a distortion both reach well inside their budgets.
    One verdict per eps; its interval is that of m."""
    p = pair(reference, contender, name)
    w = p.windows

    def memory_at(curves: Curves, given, own) -> NDArray | None:
        if given is None:
            return own
        given = np.asarray(given, dtype=np.float64)
        if given.shape != curves.windows.shape or (given <= 0).any():
            raise ValueError(f"memory must give a positive value for each of the {curves.windows.size} windows")
        return given[np.isin(curves.windows, w)]

    mem_r = memory_at(reference, reference_memory, p.memory_reference)
    mem_c = memory_at(contender, contender_memory, p.memory_contender)
    if (mem_r is None) != (mem_c is None):
        known = "reference" if mem_c is None else "contender"
        raise ValueError(f"memory is known for the {known} only: give both curves' memory (bytes) or neither (tokens)")
    mem_r, mem_c = (w, w) if mem_r is None else (mem_r, mem_c)
    few = too_few(p.n_samples)
    mean_r, mean_c = p.reference.mean(0), p.contender.mean(0)
    if eps is None:  # a distortion both reach well inside their budgets: at 3/4 of the grid, log scale
        inner = int(np.searchsorted(w, w[0] * (w[-1] / w[0]) ** 0.75))
        eps = [float(max(mean_r[inner], mean_c[inner]))]
    eps = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    out: list[Verdict] = []
    for e in eps:
        reach_r = memory_to_reach(w, mem_r, mean_r[None], e)[0]
        reach_c = memory_to_reach(w, mem_c, mean_c[None], e)[0]
        if not (np.isfinite(reach_r) and np.isfinite(reach_c)):
            out.append(Verdict("less_memory", INCONCLUSIVE, f"eps = {e:g} is outside the measured range: the "
                               f"reference's mean runs {mean_r[0]:.3g}..{mean_r[-1]:.3g}, the contender's "
                               f"{mean_c[0]:.3g}..{mean_c[-1]:.3g} over budgets {w[0]:g}..{w[-1]:g}", None,
                               {"eps": float(e)}))
            continue

        def ratio(rows, e=e):
            return (memory_to_reach(w, mem_c, resampled_means(p.contender, rows), e)
                    / memory_to_reach(w, mem_r, resampled_means(p.reference, rows), e))

        try:
            m = cluster_bootstrap(p.n_samples, ratio, n_boot=n_boot, level=level, seed=seed)
        except ValueError:
            out.append(Verdict("less_memory", INCONCLUSIVE, f"eps = {e:g} lies at the edge of the measured range: "
                               "most resamples do not reach it inside the budgets", None, {"eps": float(e)}))
            continue
        numbers = {"eps": float(e), "memory_reference": float(reach_r), "memory_contender": float(reach_c),
                   "ratio": m.estimate}
        head = (f"memory to reach eps = {e:g}: contender / reference = {m.estimate:.3g} [{m.low:.3g}, {m.high:.3g}] "
                f"({reach_c:.4g} against {reach_r:.4g})")
        if m.high < 1:
            outcome, why = HOLDS, "the contender needs less on the whole interval"
        elif m.low > 1:
            outcome, why = FAILS, "the contender needs more on the whole interval"
        else:
            outcome, why = INCONCLUSIVE, "the interval contains 1: the data cannot decide"
        out.append(Verdict("less_memory", outcome, f"{head}: {why}", (m.low, m.high), numbers))
    return out if few is None else [undecided(v, few) for v in out]

