"""Measure the coverage of the nominal 95% exponent intervals on three sources (docs/sources.md).

    python docs/measure_calibration.py [REPS]      (default 1000; about 15 minutes on 2 cores)

Each repetition draws 200 independent samples, fits the exponent on the fit range
(the upper half of the window grid on the log scale) with a 1000-resample cluster
bootstrap, and checks whether the interval covers the true exponent: the
asymptotic one where it is known in closed form (ARFIMA, power PACF), the
population slope on the fit range from one sample of 40,000 paths otherwise
(the renewal HMM, on the windows 1..16 that 200 samples measure to 20%). Prints one markdown row per curve, and the same with the
whole grid as fit range for comparison.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from wzbounds.calibration import interval_coverage, population_exponent
from wzbounds.fit import asymptotic_range
from wzbounds.sources import ARFIMA, PowerPACF, RenewalHMM

N = 200
GAUSS_WINDOWS = 2.0 ** np.arange(11)  # 1..1024
HMM = RenewalHMM(max_age=256, context=512)
HMM_WINDOWS = 2.0 ** np.arange(5)  # 1..16: the windows whose mean is measured to 20% at 200 samples


def experiments():
    for label, source, truths in (("ARFIMA(0,0.3,0)", ARFIMA(0.3), {"tv": 0.5, "bayes_kl": 1.0}),
                                  ("power PACF c=0.5, eta=0.8", PowerPACF(0.5, 0.8), {"tv": 0.3, "bayes_kl": 0.6})):
        for name, truth in truths.items():
            yield label, name, truth, "asymptotic (closed form)", lambda rng, s=source: s.sample_curves(
                GAUSS_WINDOWS, N, rng), GAUSS_WINDOWS
    big = HMM.sample_curves(HMM_WINDOWS, 40_000, np.random.default_rng(12345))
    truth, se = population_exponent(big, "tv", asymptotic_range(HMM_WINDOWS))
    yield ("renewal HMM gamma=1.5", "tv", truth, f"population slope, 40k paths (se {se:.4f})",
           lambda rng: HMM.sample_curves(HMM_WINDOWS, N, rng), HMM_WINDOWS)


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(f"| source | curve | truth | fit range | coverage (of {reps}) | Wilson 95% | bias | sd | whole-grid coverage |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, name, truth, what, draw, windows in experiments():
        start = time.perf_counter()
        cov = interval_coverage(draw, name, truth, reps=reps)
        whole = interval_coverage(draw, name, truth, reps=reps, fit_range=(windows[0], windows[-1]))
        low, high = cov.wilson
        print(f"| {label} | {name} | {truth:.4f} ({what}) | [{cov.fit_range[0]:g}, {cov.fit_range[1]:g}] | "
              f"{cov.coverage:.3f} | [{low:.3f}, {high:.3f}] | {cov.bias:+.4f} | {cov.spread:.4f} | "
              f"{whole.coverage:.3f} (bias {whole.bias:+.4f}) |", flush=True)
        print(f"<!-- {time.perf_counter() - start:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
