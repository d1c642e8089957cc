"""Benchmark: the Blahut-Arimoto-type solvers against a generic scipy solve, at equal accuracy.

For each problem, both compute the rate at the same distortion: ours with a
certified bracket of width 1e-8 nats (`rd_rates`, `wyner_ziv_rates`), the
generic route by SLSQP over the same test channel (`reference.generic_wyner_ziv_rate`,
ftol 1e-15). Printed side by side: the two times, their ratio (generic / ours;
the issue's goal is >= 10) and the difference of the answers. Small alphabets
favour SLSQP (a dense quasi-Newton method on a handful of variables); its
cost grows like the cube of the number of channel entries (|X| |Xhat|^|Y|
for Wyner-Ziv), ours linearly.
"""

from __future__ import annotations

import time

import numpy as np

from wzbounds.ratedistortion import dsbs, hamming, rd_rates, wyner_ziv_rates
from wzbounds.ratedistortion.reference import generic_wyner_ziv_rate

#: seconds the generic solve may take per problem (it needs minutes where the channel has ~1000 entries)
TIME_LIMIT = 120.0


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'problem':<34} {'ours (s)':>9} {'scipy (s)':>10} {'ratio':>7} {'|difference|':>13}")
    problems = [("Wyner-Ziv DSBS p=0.25, D=0.1", dsbs(0.25), hamming(2), 0.1, wyner_ziv_rates)]
    side_rng = np.random.default_rng(1)  # its own stream: the R(D) problems stay those of earlier runs
    for n in (3, 4):
        pxy = side_rng.dirichlet(np.ones(n * n)).reshape(n, n)
        d = (np.arange(n)[:, None] - np.arange(n)[None, :]) ** 2 / n**2
        probe = wyner_ziv_rates(pxy, d, 1e9)
        D = probe.d_min + 0.3 * (probe.d_max - probe.d_min)
        problems.append((f"Wyner-Ziv, |X|=|Y|=|Xhat| = {n}, sq. err.", pxy, d, D, wyner_ziv_rates))
    for n in (4, 8, 12, 16):
        px = rng.dirichlet(np.full(n, 3.0))
        d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]) / n
        probe = rd_rates(px, d, 1e9)
        D = probe.d_min + 0.3 * (probe.d_max - probe.d_min)
        problems.append((f"R(D), |X| = {n}, |x - xhat| / n", px[:, None], d, D, rd_rates))
    for name, pxy, d, D, ours in problems:
        mine, t_ours = timed(lambda: float(ours(pxy if pxy.shape[1] > 1 else pxy[:, 0], d, D).rate[0]))
        start = time.perf_counter()
        try:
            theirs, t_generic = timed(lambda: generic_wyner_ziv_rate(pxy, d, D, max_iter=20_000, time_limit=TIME_LIMIT))
        except RuntimeError as exc:
            failed = time.perf_counter() - start
            print(f"{name:<34} {t_ours:9.3f} {'failed':>10} {'-':>7} {'-':>13}  (after {failed:.1f} s: {exc})")
            continue
        print(f"{name:<34} {t_ours:9.3f} {t_generic:10.3f} {t_generic / t_ours:7.2f} {abs(mine - theirs):13.2e}")


if __name__ == "__main__":
    main()
