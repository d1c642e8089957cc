"""Measure the wrong-verdict rates of validation's claims on known answers (docs/validation.md).

    python docs/measure_verdicts.py [--draws 1000]

Each draw builds the synthetic panels of tests/validation/known_answers.py at the quick preset's
sample size (32 documents, budgets 1..64), decides every claim, and scores it against the truth:
wrong = holds when the claim is false or fails when it is true; inconclusive is never wrong but
costs power.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.validation.test_known_answers import rates  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    print(f"| claim (world) | wrong | inconclusive |\n|---|---|---|")
    for name, (wrong, inconclusive) in rates(args.draws, seed0=5000).items():
        print(f"| {name} | {wrong / args.draws:.1%} | {inconclusive / args.draws:.1%} |")


if __name__ == "__main__":
    main()
