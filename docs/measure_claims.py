"""Measure every claim's wrong-verdict rate on worlds resampled from the committed real panels.

    python docs/measure_claims.py [--draws 1000] [--n-boot 200]

The worlds are those of wzbounds.claims.calibration on docs/panels/{quick,standard}/{natural,code}
(SmolLM2-135M): the documents' real spread under a mean law whose truth is known. Prints the
markdown table of docs/validation.md ("How often a verdict is wrong"): per claim and world, the
truth, and the rates of holds, fails and inconclusive; wrong = holds when false or fails when true.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_claims_calibration import every_world  # noqa: E402
from wzbounds.claims.calibration import wrong_verdict_rates  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--n-boot", type=int, default=200)
    args = ap.parse_args()
    ws = every_world(n_boot=args.n_boot)
    rates = wrong_verdict_rates(ws, args.draws, seed=2026,
                                progress=lambda w: print(f"  {w.size}: {w.claim}, {w.name}", file=sys.stderr))
    print("| claim | world | size | truth | wrong | inconclusive |\n|---|---|---|---|---|---|")
    for r in rates:
        print(f"| {r.claim} | {r.world} | {r.size} | {'true' if r.truth else 'false'} | "
              f"{r.wrong / r.draws:.1%} | {r.inconclusive / r.draws:.1%} |")


if __name__ == "__main__":
    main()
