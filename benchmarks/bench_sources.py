"""Benchmark: how fast each source produces exact per-sample curves (samples/s).

Each source draws per-sample curves on its usual window grid; the rate is
samples per second, best of three, measured side by side in one run, with
the exact expected curves (Gaussian sources) timed per window.
"""

from __future__ import annotations

import time

import numpy as np

from wzbounds.sources import ARFIMA, GeometricPACF, MarkovHMM, PowerLawCopy, PowerPACF, RenewalHMM

W = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)

CASES = [
    ("arfima d=0.3", ARFIMA(0.3), W, 10_000),
    ("power-pacf c=0.5 eta=0.8", PowerPACF(0.5, 0.8), W, 10_000),
    ("geometric-pacf", GeometricPACF(0.6, 0.8), W[:6], 10_000),
    ("copy V=5e4, context 4096", PowerLawCopy(V=50000, context=4096), W[:10], 50),
    ("renewal-hmm A=1024, context 2048", RenewalHMM(), W[:9], 20),
    ("markov-hmm context 1024", MarkovHMM(), W[:6], 200),
]


def best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'source':36} {'samples/s':>12} {'windows':>8}")
    for name, source, windows, n in CASES:
        t = best(lambda: source.sample_curves(windows, n, rng))
        print(f"{name:36} {n / t:12.1f} {windows.size:8d}")
    t = best(lambda: ARFIMA(0.3).exact_curves(W))
    print(f"exact E TV, E TV^2, Delta (ARFIMA, quadrature): {W.size / t:.0f} windows/s")


if __name__ == "__main__":
    main()
