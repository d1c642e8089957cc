"""Synthetic sources with exact ground truth.

Each source samples paths with a seeded numpy Generator, computes per-sample
distortion curves exactly (`sample_curves`, a `wzbounds.curves.Curves`), gives
exact expected curves where a closed form or quadrature exists
(`exact_curves`), and carries its true law and exponents (`truth`).

    name              class           law        exact expectations   per sample
    arfima            ARFIMA          power      Delta, E TV, E TV^2  TV, KL (= Bayes gap)
    power-pacf        PowerPACF       power      Delta, E TV, E TV^2  TV, KL (= Bayes gap)
    geometric-pacf    GeometricPACF   geometric  Delta, E TV, E TV^2  TV, KL (= Bayes gap)
    copy              PowerLawCopy    power      -                    TV, KL_mu
    renewal-hmm       RenewalHMM      power      -                    TV, KL_mu, Bayes gap
    markov-hmm        MarkovHMM       geometric  -                    TV, KL_mu, Bayes gap

`power_law_panel` draws curves (not tokens) whose population exponent is
known exactly: the source for interval-calibration checks.
"""

from __future__ import annotations

from typing import Any

from wzbounds.registry import build
from wzbounds.sources._base import ExactCurves, Source, Truth, windows_grid
from wzbounds.sources.copy import PowerLawCopy
from wzbounds.sources.gaussian import ARFIMA, GeometricPACF, PACFGaussian, PowerPACF, gaussian_kl, gaussian_tv
from wzbounds.sources.hmm import MarkovHMM, RenewalHMM
from wzbounds.sources.panel import power_law_panel

SOURCES: dict[str, type[Source]] = {
    "arfima": ARFIMA,
    "power-pacf": PowerPACF,
    "geometric-pacf": GeometricPACF,
    "copy": PowerLawCopy,
    "renewal-hmm": RenewalHMM,
    "markov-hmm": MarkovHMM,
}


def make_source(name: str, **parameters: Any) -> Source:
    """A source by registry name, e.g. make_source("arfima", d=0.3)."""
    return build(SOURCES, "source", name, parameters)


__all__ = [
    "ARFIMA",
    "ExactCurves",
    "GeometricPACF",
    "MarkovHMM",
    "PACFGaussian",
    "PowerLawCopy",
    "PowerPACF",
    "RenewalHMM",
    "SOURCES",
    "Source",
    "Truth",
    "gaussian_kl",
    "gaussian_tv",
    "make_source",
    "power_law_panel",
    "windows_grid",
]
