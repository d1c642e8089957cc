"""Measure every claim's wrong-verdict rate on worlds resampled from the committed real panels.

    python docs/measure_claims.py [--draws 1000] [--n-boot 200]

The worlds are those of wzbounds.claims.calibration on docs/panels/{quick,standard}/{natural,code}
(SmolLM2-135M): the documents' real spread under a mean law whose truth is known. Prints the
markdown table of docs/validation.md ("How often a verdict is wrong"): one row per claim and
world, with its truth, and for each panel the rate of wrong verdicts (holds when false, fails when
true) and of inconclusive ones, as "wrong / inconclusive".
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_claims_calibration import every_world  # noqa: E402
from wzbounds.claims.calibration import Rate, wrong_verdict_rates  # noqa: E402


def table(rates: list[Rate]) -> str:
    sizes = list(dict.fromkeys(r.size for r in rates))
    rows: dict[tuple[str, str, bool], dict[str, Rate]] = {}
    for r in rates:
        rows.setdefault((r.claim, r.world, r.truth), {})[r.size] = r
    head = "| claim | world | truth | " + " | ".join(sizes) + " |"
    lines = [head, "|" + "---|" * (3 + len(sizes))]
    for (claim, world, truth), by in rows.items():
        cells = [f"{by[s].wrong / by[s].draws:.1%} / {by[s].inconclusive / by[s].draws:.0%}" if s in by else "-"
                 for s in sizes]
        lines.append(f"| {claim} | {world} | {'true' if truth else 'false'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--n-boot", type=int, default=200)
    args = ap.parse_args()
    rates = wrong_verdict_rates(every_world(n_boot=args.n_boot), args.draws, seed=2026,
                                progress=lambda w: print(f"  {w.size}: {w.claim}, {w.name}", file=sys.stderr))
    print(table(rates))


if __name__ == "__main__":
    main()
