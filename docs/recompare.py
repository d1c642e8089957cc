"""Re-decide every contest of an arena report with `wzbounds compare` on its exported panels.

    python docs/recompare.py docs/arena-report/arena.json docs/panels/arena

For each contest in arena.json (a policy and mode against the sliding window recomputed, on
one domain), runs `wzbounds compare --json` on PANELS/<domain>/arena/sliding_recompute_preserved.csv
and the policy's file, and checks both verdicts equal the report's, every number and word.
Prints the contests checked and each that differs; exits 1 if any does. docs/arena.md quotes it.
"""

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

from validation.runs.panels import _file_name
from wzbounds.cli import main


def recompare(report: Path, panels: Path) -> list[str]:
    """The contests of `report` whose verdicts `wzbounds compare` on `panels` does not reproduce."""
    differ = []
    for row in json.loads(report.read_text(encoding="utf-8"))["contests"]:
        part = panels / row["domain"] / "arena"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main(["compare", str(part / "sliding_recompute_preserved.csv"),
                         str(part / _file_name(row["policy"], row["mode"], "preserved")), "--json"])
        label = f"{row['domain']}: {row['policy']} ({row['mode']})"
        if code != 0:
            differ.append(f"{label}: wzbounds compare exited {code}")
            continue
        faster, less = json.loads(printed.getvalue())["verdicts"]
        if (faster, less) != (row["faster_decay"], row["less_memory"]):
            differ.append(label)
    return differ


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="an arena.json")
    parser.add_argument("panels", type=Path, help="its curves, as `wzbounds export RESULTS --all` wrote them")
    args = parser.parse_args()
    n = len(json.loads(args.report.read_text(encoding="utf-8"))["contests"])
    differ = recompare(args.report, args.panels)
    print(f"{n} contests re-decided by wzbounds compare on {args.panels}: {n - len(differ)} agree with "
          f"{args.report}" + "".join(f"\n  differs: {d}" for d in differ))
    sys.exit(1 if differ else 0)
