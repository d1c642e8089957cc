"""Benchmark: the cost of `import wzbounds`, side by side with a bare interpreter and with numpy.

Each import runs in a fresh interpreter (best of 7). The goal: `import wzbounds` under 0.2 s,
which the lazy top level (PEP 562) makes the cost of the interpreter itself; the first use of a
name then loads its module (numpy for the bounds, scipy for block-Markov, sympy for
`wzbounds.symbolic`), timed below as well.
"""

from __future__ import annotations

import subprocess
import sys
import time


def best_of(code: str, repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    bare = best_of("pass")
    rows = [
        ("python -c pass", "pass"),
        ("import numpy", "import numpy"),
        ("import wzbounds", "import wzbounds"),
        ("wzbounds.sliding_window_tv", "import wzbounds; wzbounds.sliding_window_tv(1.0, 0.44)"),
        ("wzbounds.blockmarkov", "import wzbounds; wzbounds.blockmarkov.kappa(0.44)"),
        ("wzbounds.symbolic", "import wzbounds; wzbounds.symbolic.kappa"),
    ]
    print(f"{'what':<30} {'seconds':>8} {'over bare python':>17}")
    for label, code in rows:
        t = best_of(code)
        print(f"{label:<30} {t:8.3f} {t - bare:+17.3f}")


if __name__ == "__main__":
    main()
