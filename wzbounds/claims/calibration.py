"""How often each claim's rule is wrong, on worlds resampled from real measurements.

A world keeps the documents of a real panel (their spread, and how each one's
deviation is correlated across budgets) and replaces the mean law by one whose
truth is known:

    r_i(w) = y_i(w) / mean_j y_j(w)        the real documents' relative deviations
    y'_i(w) = f(w) r_{k_i}(w)              k_i drawn with replacement, n of them

so the population mean of y' is exactly f at every budget (TV capped at 1, which
binds only at the smallest budgets). f is the real mean
itself (its real bend), the real mean tilted by w^-d (which moves every fitted
exponent by exactly d), a pure power law, or a law a skeptic names instead:
geometric, stretched-exponential (exp(-b w^1/2)) or logarithmic
(A / ln(w + 2)^p), each matched to the real mean at the first and last budget;
paired panels (two policies on the same documents) draw the same k_i.

`worlds(panels)` builds, for every claim of `wzbounds.claims`, worlds where it
is true and worlds where it is false, near the edges of its band;
`wrong_verdict_rates(worlds, draws)` decides each world `draws` times and counts
holds-when-false, fails-when-true and inconclusive. docs/validation.md prints
the table (`python docs/measure_claims.py`); tests/test_claims_calibration.py
bounds every wrong-verdict rate at 5%.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wzbounds.claims import paper
from wzbounds.claims.scaling import faster_decay, less_memory
from wzbounds.curves import Curves
from wzbounds.fit import asymptotic_range, fitted_exponents, in_fit_range, measured_windows
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict

PAPER_ALPHA = paper.PAPER["alpha_tv"]["natural"]


@dataclass(frozen=True)
class Spread:
    """A real panel's relative deviations r_i(w) = y_i(w) / mean y(w), for TV and (if measured) KL."""

    windows: NDArray[np.float64]
    tv: NDArray[np.float64]
    kl: NDArray[np.float64] | None
    mean_tv: NDArray[np.float64]
    mean_kl: NDArray[np.float64] | None

    @classmethod
    def of(cls, curves: Curves) -> Spread:
        kl = curves.kl
        return cls(curves.windows, curves.tv / curves.mean("tv"), None if kl is None else kl / kl.mean(0),
                   curves.mean("tv"), None if kl is None else curves.mean("kl"))

    def draw(self, rows: NDArray[np.int64], tv: NDArray, kl: NDArray | None = None) -> Curves:
        """The panel of documents `rows` with mean laws tv (and kl) over the windows; TV capped at 1,
        as every TV is (the cap binds only at the smallest budgets, below every fit range)."""
        return Curves(self.windows, np.minimum(tv * self.tv[rows], 1.0), kl=None if kl is None else kl * self.kl[rows],
                      mu=None if kl is None else 0.1)


def under_cap(spreads: tuple[Spread, ...], laws: tuple[NDArray, ...]) -> float:
    """The one factor (<= 1) that scales every law so no document's TV exceeds 1: a constant factor
    moves no exponent and no ratio between panels, and keeps the cap from binding."""
    peak = max(float(np.max(f * s.tv)) for s, f in zip(spreads, laws))
    return min(1.0, 1.0 / peak)


def _exponent(w: NDArray, f: NDArray, fit_range: tuple[float, float]) -> float:
    keep = in_fit_range(w, fit_range)
    return float(fitted_exponents(w[keep], f[keep][None])[0])


def population_fit_range(curves: Curves) -> tuple[float, float]:
    """The checker's fit range on the whole real panel (the population of every world drawn from it)."""
    return asymptotic_range(measured_windows(curves))


def alternatives(w: NDArray, m: NDArray) -> dict[str, NDArray]:
    """The laws a skeptic names instead of a power law, each equal to m at the first and last window."""
    m0, m1, w0, w1 = m[0], m[-1], w[0], w[-1]
    drop = np.log(m0 / m1)
    p = drop / np.log(np.log(w1 + 2) / np.log(w0 + 2))
    return {
        "geometric": m0 * np.exp(-drop * (w - w0) / (w1 - w0)),
        "stretched exponential": m0 * np.exp(-drop * (np.sqrt(w) - np.sqrt(w0)) / (np.sqrt(w1) - np.sqrt(w0))),
        "logarithmic": m0 * (np.log(w0 + 2) / np.log(w + 2)) ** p,
    }


@dataclass(frozen=True)
class World:
    """One world for one claim: its truth, and a draw -> verdict function (seeded)."""

    claim: str
    name: str
    truth: bool
    decide: Callable[[np.random.Generator, int], Verdict]
    size: str = ""


@dataclass(frozen=True)
class Rate:
    """What one world's rule said over `draws` draws."""

    claim: str
    world: str
    size: str
    truth: bool
    draws: int
    holds: int
    fails: int
    inconclusive: int

    @property
    def wrong(self) -> int:
        """holds when false, or fails when true."""
        return self.fails if self.truth else self.holds

    def to_dict(self) -> dict[str, object]:
        return {"claim": self.claim, "world": self.world, "size": self.size, "truth": self.truth,
                "draws": self.draws, "holds": self.holds, "fails": self.fails, "inconclusive": self.inconclusive,
                "wrong": self.wrong}


def worlds(panels: Mapping[str, Curves], *, size: str = "", n_sink: int = 4, n_boot: int = 200) -> list[World]:
    """Every claim's true and false worlds from one run's real panels (the same documents, same order):
    "sliding" (recompute, preserved; TV and KL) is needed; "sink", "random" and "evict" (any
    contender's curves) add the claims that compare with them. Documents drawn per panel: as many
    as the real panel has."""
    s = panels["sliding"]
    n, w = s.n_samples, s.windows
    base = Spread.of(s)
    m, mk = base.mean_tv, base.mean_kl
    rng_pop = population_fit_range(s)
    a0 = _exponent(w, m, rng_pop)

    def capped(f: NDArray) -> NDArray:
        return f * under_cap((base,), (f,))

    power = capped(m[0] * (w / w[0]) ** -a0)
    kappa = float(np.median(mk / m**2))
    boot = {"n_boot": n_boot}
    out: list[World] = []

    def add(claim: str, name: str, truth: bool, decide: Callable[[np.random.Generator, int], Verdict]) -> None:
        out.append(World(claim, name, truth, decide, size))

    def rows(g: np.random.Generator) -> NDArray[np.int64]:
        return g.integers(0, n, n)

    def tilt(d: float) -> NDArray:  # the real mean with every fitted exponent moved by d, under the cap
        return capped(m * w**-d)

    # power_law and theta_band: a power law with the real spread against the skeptic's laws
    laws = {"power law": (power, True), **{k: (capped(v), False) for k, v in alternatives(w, m).items()}}
    for name, (f, truth) in laws.items():
        add("power_law", name, truth, lambda g, seed, f=f: paper.power_law(base.draw(rows(g), f), seed=seed, **boot))
        add("theta_band", name, truth, lambda g, seed, f=f: paper.theta_window(base.draw(rows(g), f), seed=seed,
                                                                              **boot))
    # alpha_tv: the real mean (alpha > 0) against the real mean tilted flat (alpha = 0)
    for name, f, truth in (("real mean", m, True), ("real mean tilted flat", tilt(-a0), False)):
        add("alpha_tv", name, truth, lambda g, seed, f=f: paper.alpha_positive(base.draw(rows(g), f), seed=seed,
                                                                               ranges=False, **boot))
    # alpha_paper: the real mean tilted to the paper's value, and past both band edges
    for name, target, truth in (("alpha = paper", PAPER_ALPHA, True),
                                ("alpha = paper x (1 + 2 tolerance)", PAPER_ALPHA * (1 + 2 * paper.PAPER_TOLERANCE),
                                 False),
                                ("alpha = paper x (1 - 2 tolerance)", PAPER_ALPHA * (1 - 2 * paper.PAPER_TOLERANCE),
                                 False)):
        f = tilt(target - a0)
        add("alpha_paper", name, truth, lambda g, seed, f=f: paper.alpha_agrees(base.draw(rows(g), f), PAPER_ALPHA,
                                                                               seed=seed, **boot))
    # kl_doubling: KL_mu = kappa TV^2 (ratio 2) against KL_mu ~ TV^1.5 (ratio 1.5), TV a power law
    if mk is not None:
        for name, k_exp, truth in (("KL_mu ~ TV^2", 2.0, True), ("KL_mu ~ TV^1.5", 1.5, False)):
            fk = kappa * power[-1] ** (2 - k_exp) * power**k_exp
            add("kl_doubling", name, truth, lambda g, seed, fk=fk: paper.kl_doubling(
                base.draw(rows(g), power, fk), seed=seed, **boot))
    # bound_prediction: the power law against a tail that bends down (local exponent 6 alpha over the
    # last step: the law fitted below it over-predicts the window by 2^2.5 = 5.7 per doubling)
    cliff = power.copy()
    cliff[-1] = cliff[-2] * (w[-1] / w[-2]) ** (-6 * a0)
    cliff = capped(cliff)
    for name, f, truth in (("power law", power, True), ("tail bending down", cliff, False)):
        add("bound_prediction", name, truth, lambda g, seed, f=f: paper.bound_prediction(
            base.draw(rows(g), f), rng_pop, seed=seed, **boot))
    _paired_worlds(panels, base, power, kappa, a0, rng_pop, n_sink, boot, add)
    return out


def _paired_worlds(panels, base: Spread, power: NDArray, kappa: float, a0: float, rng_pop, n_sink: int,
                   boot: dict, add) -> None:
    """The claims comparing the sliding window with another policy on the same documents."""
    s = panels["sliding"]
    n, w = s.n_samples, s.windows
    m, mk = base.mean_tv, base.mean_kl

    def rows(g):
        return g.integers(0, n, n)

    other = Spread.of(panels["evict"]) if "evict" in panels else None
    if other is not None:  # position_ablation: a second panel on the same documents, equal or steeper exponent
        for name, d, truth in (("same exponent, other documents' spread", 0.0, True),
                               ("exponent 1.3 x", 0.3 * a0, False)):
            add("position_ablation", name, truth, lambda g, seed, d=d: _two(
                g, base, other, m, m * w**-d, lambda a, b: paper.same_positions(b, a, rng_pop, seed=seed, **boot)))
    if "sink" in panels and mk is not None:
        sink = Spread.of(panels["sink"])
        for name, ratio, truth in (("alpha_KL(sink) = 2 alpha_TV", 1.0, True),
                                   ("alpha_KL(sink) = 1.5 alpha_TV", 0.75, False)):
            fk = kappa * power[-1] ** 2 * (w / w[-1]) ** (-2 * a0 * ratio)
            add("sink_recovery", name, truth, lambda g, seed, fk=fk: _two(
                g, base, sink, power, power, lambda a, b: paper.sink_recovery(b, a, n_sink, rng_pop, seed=seed,
                                                                              **boot), kl_b=fk, kl_a=kappa * power**2))
    if "random" in panels and mk is not None:
        rand = Spread.of(panels["random"])
        for claim, than, large, cases in (("recency_vs_random", 1.0, None, ((1.5, True), (0.7, False))),
                                          ("recency_two_orders", paper.TWO_ORDERS, paper.LARGE_BUDGET,
                                           ((200.0, True), (50.0, False)))):
            for q, truth in cases:
                add(claim, f"random / sliding = {q:g}", truth, lambda g, seed, q=q, c=claim, t=than, lb=large: _two(
                    g, base, rand, m, m, lambda a, b: paper.recency(b, a, t, large_budget=lb, claim=c, seed=seed,
                                                                    **boot), kl_a=mk, kl_b=q * mk))
    if other is not None:  # faster_decay and less_memory: the skeptic's contenders
        cross = w[w.size // 2]
        cases = {"steeper (1.5 x) and better above the middle budget": (m * (w / cross) ** (-0.5 * a0), True),
                 "same exponent, half the distortion": (0.5 * m, False),
                 "catch-up: steeper (1.3 x), 1.3 x worse at the top": (1.3 * m * (w / w[-1]) ** (-0.3 * a0), False),
                 "shallower (0.8 x)": (m * (w / w[0]) ** (0.2 * a0), False)}
        for name, (f, truth) in cases.items():
            add("faster_decay", name, truth, lambda g, seed, f=f: _two(
                g, base, other, m, f, lambda a, b: faster_decay(a, b, seed=seed, **boot)))
        for name, q, truth in (("0.6 x the distortion", 0.6, True), ("1.5 x the distortion", 1.5, False)):
            add("less_memory", name, truth, lambda g, seed, q=q: _two(
                g, base, other, m, q * m, lambda a, b: less_memory(a, b, seed=seed, **boot)[0]))


def _two(g: np.random.Generator, a: Spread, b: Spread, f_a: NDArray, f_b: NDArray,
         rule: Callable[[Curves, Curves], Verdict], kl_a: NDArray | None = None, kl_b: NDArray | None = None) -> Verdict:
    """Two paired panels on the same drawn documents, decided by `rule(panel_a, panel_b)`; both TV
    laws scaled by one factor so neither reaches the cap."""
    rows = g.integers(0, a.tv.shape[0], a.tv.shape[0])
    k = under_cap((a, b), (f_a, f_b))
    return rule(a.draw(rows, k * f_a, kl_a), b.draw(rows, k * f_b, kl_b))


def wrong_verdict_rates(ws: list[World], draws: int, seed: int = 0,
                        progress: Callable[[World], None] | None = None) -> list[Rate]:
    """Decide every world `draws` times (seeds seed.., one generator per world) and count outcomes."""
    out = []
    for k, world in enumerate(ws):
        g = np.random.default_rng([seed, k])
        counts = {HOLDS: 0, FAILS: 0, INCONCLUSIVE: 0}
        for r in range(draws):
            counts[world.decide(g, seed + r).outcome] += 1
        out.append(Rate(world.claim, world.name, world.size, world.truth, draws, counts[HOLDS], counts[FAILS],
                        counts[INCONCLUSIVE]))
        if progress is not None:
            progress(world)
    return out


def read_panels(folder, policies: Mapping[str, str]) -> dict[str, Curves]:
    """The panels of one domain and part folder written by `wzbounds export --all`, by role:
    policies maps a role ("sliding", "sink", "random", "evict") to its CSV file's stem."""
    from pathlib import Path

    from wzbounds.curves import read_csv

    folder = Path(folder)
    panels = {role: read_csv(folder / f"{stem}.csv") for role, stem in policies.items()}
    ids = {role: c.samples for role, c in panels.items()}
    if len(set(ids.values())) != 1:
        raise ValueError(f"the panels in {folder} are not on the same documents: {sorted(ids)}")
    return panels
