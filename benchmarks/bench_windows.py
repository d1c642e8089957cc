"""Benchmark: the achievability window for 1e6 (eps, alpha) pairs, vectorised.

Prints the time of one vectorised call on 1e6 pairs (target: under 0.1 s on a
2-core machine), the time per pair of a plain Python loop over the scalar
formula, measured in the same run, and their ratio; then the same for the
block-Markov exact average over 1e6 (alpha, b) pairs.
"""

from __future__ import annotations

import math
import time

import numpy as np

import wzbounds as wz
from wzbounds import blockmarkov as bm


def best_of(fn, repeats: int = 5) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    eps = 10 ** rng.uniform(-6, 0, n)
    alpha = rng.uniform(0.1, 2.0, n)
    b = rng.integers(1, 10**6, n)

    vec = best_of(lambda: wz.achievable_window_tv(eps, C=1.0, alpha=alpha))
    m = 20_000
    loop = best_of(lambda: [math.ceil((1.0 / e) ** (1.0 / a)) for e, a in zip(eps[:m].tolist(), alpha[:m].tolist())], 3)
    per_pair_loop = loop / m
    print(f"achievable window, {n:,} (eps, alpha) pairs: {vec:.4f} s vectorised (target < 0.1 s)")
    print(f"  python loop: {per_pair_loop * 1e9:.0f} ns/pair; vectorised: {vec / n * 1e9:.1f} ns/pair; "
          f"speed-up {per_pair_loop * n / vec:.1f}x")

    vec_bm = best_of(lambda: bm.average_distortion(1.0, alpha, b), 3)
    print(f"block-Markov exact average, {n:,} (alpha, b) pairs: {vec_bm:.4f} s "
          f"({vec_bm / n * 1e9:.0f} ns/pair)")


if __name__ == "__main__":
    main()
