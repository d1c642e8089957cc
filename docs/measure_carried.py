"""What carrying the summaries through decoding costs, and what it changes: the arena's summaries on
the embedded model, in evict mode and carried online, on the same prefixes of the natural domain.

    python docs/measure_carried.py OUT [--prefixes 2] [--prefix-length 512]

OUT receives the measurements (two resumable folders). Prints the seconds each run took per prefix
and, per summary and mode, the mean TV at every budget. docs/arena.md ("Carried through decoding")
quotes a run of this script.
"""

import argparse
import time
from pathlib import Path

SUMMARIES = ("merge", "pooled", "multiscale", "kivi")
BUDGETS = (4, 8, 16, 32, 64)


def main() -> None:
    from validation.data.models import load_model
    from validation.runs.protocol import Protocol, curves, run

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--prefixes", type=int, default=2)
    parser.add_argument("--prefix-length", type=int, default=512)
    args = parser.parse_args()
    lm = load_model("default")
    tables = {}
    for carried in (False, True):
        protocol = Protocol(policies=("sliding", *SUMMARIES), modes=("evict", "online"), budgets=BUDGETS,
                            prefixes=args.prefixes, prefix_length=args.prefix_length, targets=1, carried=carried)
        started = time.time()
        store = run(protocol, args.out / ("carried" if carried else "evict"), lm=lm, progress=False)
        seconds = time.time() - started
        tables[carried] = store.table()
        what = "evict, and sliding online" if not carried else "the same, and the summaries carried online"
        print(f"{what}: {seconds / args.prefixes:.0f} s per {args.prefix_length}-token prefix on {lm.device}")
    print("mean TV at budgets " + " ".join(map(str, BUDGETS)))
    for spec in ("sliding", *SUMMARIES):
        for mode in ("evict", "online"):
            tv = curves(tables[True], spec, mode, mu=None).tv.mean(axis=0)
            print(f"  {spec:<11} {mode:<7} " + " ".join(f"{v:.3f}" for v in tv))


if __name__ == "__main__":
    main()
