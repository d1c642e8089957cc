"""`wzbounds compare REFERENCE.csv CONTENDER.csv`: does the contender beat the reference's scaling?

Both files are in `check`'s format (sample,window,tv[,kl]), measured on the same
samples (paired by the sample column) at the same windows. Prints the two
claims of `wzbounds.claims`: `faster_decay` (a larger asymptotic exponent, and
better at the top budget) and `less_memory` (the memory needed to reach each
eps, as a ratio), each with its interval; `--json` prints the verdict objects.
Memory is in bytes when both files carry a `# memory=` line (`wzbounds export`
writes one), else in windows (tokens). Fewer than 8 shared samples leave both
claims inconclusive by rule, and so does, for faster_decay, a window inside the
fit range that a file lists as saturated (`# saturated=`).
"""

from __future__ import annotations

import argparse
import json

from wzbounds.grids import parse_grid
from wzbounds.output import jsonable
from wzbounds.claims import MARGIN, faster_decay, less_memory
from wzbounds.curves import read_csv

COMPARE_EXAMPLES = """\
examples:
  wzbounds compare sliding.csv merge.csv
  wzbounds compare sliding.csv merge.csv --eps 0.05,0.02 --json
(`wzbounds export RESULTS --policy P --mode M` writes such files from a measured results folder.)
"""


def cmd_compare(args: argparse.Namespace) -> None:
    reference, contender = read_csv(args.reference, mu=args.mu), read_csv(args.contender, mu=args.mu)
    eps = None if args.eps is None else parse_grid("eps", args.eps)
    boot = {"n_boot": args.n_boot, "seed": args.seed}
    decay = faster_decay(reference, contender, name=args.curve, margin=args.margin, **boot)
    memory = less_memory(reference, contender, eps, name=args.curve, **boot)
    if args.json:
        print(json.dumps(jsonable({"reference": args.reference, "contender": args.contender, "curve": args.curve,
                                   "verdicts": [decay.to_dict(), *(m.to_dict() for m in memory)]}), indent=2))
        return
    print(f"reference {args.reference}, contender {args.contender}: {args.curve}")
    for v in (decay, *memory):
        print(f"{v.claim:>12}: {v.outcome:<12} {v.reason}")


def add_commands(top: argparse._SubParsersAction, fmt: type) -> None:
    """Register `compare` on the top-level parser."""
    p = top.add_parser("compare", help="does a contender beat the reference's scaling (faster_decay, less_memory)",
                       description=__doc__, epilog=COMPARE_EXAMPLES, formatter_class=fmt)
    p.add_argument("reference", help="the reference's curves (e.g. the sliding window), check's CSV format")
    p.add_argument("contender", help="the contender's curves, on the same samples and windows")
    p.add_argument("--curve", default="tv", choices=("tv", "kl"), help="which distortion to compare (default tv)")
    p.add_argument("--eps", help="distortions for less_memory: a value, a list or START:STOP:N (default: one both "
                   "curves reach well inside their budgets)")
    p.add_argument("--margin", type=float, default=MARGIN,
                   help=f"faster_decay needs the exponent ratio above 1 + margin (default {MARGIN:g})")
    p.add_argument("--mu", type=float, help="smoothing of the kl column when the files do not say (# mu=...)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the verdict objects as JSON")
    p.set_defaults(func=cmd_compare)
