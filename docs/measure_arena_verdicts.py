"""Measure the wrong-verdict rates of the arena's rule on known answers (docs/arena.md).

    python docs/measure_arena_verdicts.py [--draws 1000]

Each draw builds the synthetic panels of tests/validation/test_arena.py (24 documents, budgets
16..128, the reference's exponent 0.5, 15% noise) and decides "beats the suffix-only scaling"
with 1000 bootstrap resamples. Wrong = beats when the truth is not (a smaller or equal exponent)
or does not when the truth is (a larger one); inconclusive is never wrong but costs power.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.validation.test_arena import world  # noqa: E402
from validation.runs.contests import exponent_contest  # noqa: E402
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE  # noqa: E402

WORLDS = {  # name: (alpha of the policy in bytes, documents, the wrong outcome)
    "twice the reference's exponent (beats)": (1.0, 24, FAILS),
    "half of it (does not)": (0.25, 24, HOLDS),
    "equal to it (does not)": (0.5, 24, HOLDS),
    "twice, 6 documents (inconclusive by rule)": (1.0, 6, None),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    print("| world | wrong | inconclusive |\n|---|---|---|")
    for name, (alpha, n, wrong_outcome) in WORLDS.items():
        rng = np.random.default_rng(7000 + n)
        got = []
        for d in range(args.draws):
            x, top, x_ref, ref = world(rng, alpha, n=n)
            got.append(exponent_contest("arena", x, top, x_ref, ref, n_boot=1000, seed=d)[2].outcome)
        got = np.array(got)
        wrong = np.mean(got == wrong_outcome) if wrong_outcome else np.mean(got != INCONCLUSIVE)
        print(f"| {name} | {wrong:.1%} | {np.mean(got == INCONCLUSIVE):.1%} |")


if __name__ == "__main__":
    main()
