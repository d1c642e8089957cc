"""What carrying the summaries through decoding costs, and what it changes: the streaming summaries on
the embedded model, in evict mode and carried online, against the suffix-only window on the same
prefixes of the natural domain, decided by the arena's rules (faster_decay, less_memory).

    python docs/measure_carried.py OUT [--prefixes 8] [--prefix-length 256]

OUT receives the measurements (two resumable folders). Prints the seconds each run took per prefix,
per summary and mode the mean TV at every budget, and each one's less_memory and faster_decay verdicts
against the sliding window in recompute mode. docs/arena.md ("Carried through decoding") quotes a run.
"""

import argparse
import time
from pathlib import Path

SUMMARIES = ("merge", "pooled", "multiscale", "kivi")
BUDGETS = (4, 8, 16, 32, 64)


def main() -> None:
    from validation.data.bos import Bos
    from validation.data.models import load_model
    from validation.runs.contests import contests
    from validation.runs.protocol import Protocol, curves, run

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--prefixes", type=int, default=8)
    parser.add_argument("--prefix-length", type=int, default=256)
    args = parser.parse_args()
    lm = load_model("default")
    tables = {}
    for carried in (False, True):
        protocol = Protocol(policies=("sliding", *SUMMARIES), modes=("recompute", "evict", "online"),
                            positions=("preserved",), budgets=BUDGETS, prefixes=args.prefixes,
                            prefix_length=args.prefix_length, targets=1, carried=carried, bos="never")
        started = time.time()
        store = run(protocol, args.out / ("carried" if carried else "evict"), lm=lm, progress=False)
        seconds = time.time() - started
        tables[carried] = store.table()
        what = "recompute, evict, sliding online" if not carried else "the same, and the summaries carried online"
        print(f"{what}: {seconds / args.prefixes:.0f} s per {args.prefix_length}-token prefix on {lm.device}")
    print(f"mean TV at budgets {' '.join(map(str, BUDGETS))}; verdicts against sliding (recompute), "
          f"{args.prefixes} documents")
    for c in contests(tables[True], protocol, lm.kv, Bos("never"), "natural", n_boot=1000):
        tv = curves(tables[True], c.policy, c.mode, mu=None).tv.mean(axis=0)
        less = c.less.numbers
        print(f"  {c.policy:<11} {c.mode:<7} " + " ".join(f"{v:.3f}" for v in tv)
              + f"  less_memory {c.less.outcome} ({less.get('ratio', float('nan')):.3g} "
              f"[{c.less.interval[0] if c.less.interval else float('nan'):.3g}, "
              f"{c.less.interval[1] if c.less.interval else float('nan'):.3g}])  faster_decay {c.faster.outcome}")


if __name__ == "__main__":
    main()
