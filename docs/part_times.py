"""What each part of a measured run cost, per prefix, from the times its measurements were written.

    python docs/part_times.py RESULTS [--each]

RESULTS: a validate or arena output folder (its measure/<domain>/<part>/ stores) or one store.
The store writes each task's rows as one file when the task ends, so a prefix's cost is the time
from the previous prefix's last file to its own last file (the first prefix has none: its cost
includes loading and is left out). Prints, per part, the prefixes, the minutes from its first
file to its last, and the median, least and most seconds per prefix (--each: every prefix's).
A prefix that shared the CPU with another job shows as an outlier. docs/arena.md quotes a run.
"""

import argparse
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def part_times(store: Path) -> tuple[np.ndarray, float]:
    """Seconds per prefix of one store (after the first), in the order measured, and the minutes from
    its first file to its last."""
    last: dict[str, float] = {}
    first = np.inf
    for shard in (store / "shards").glob("*.parquet"):
        rows = pq.read_table(shard, columns=["doc", "prefix_start"]).slice(0, 1).to_pylist()[0]
        prefix, written = f"{rows['doc']}@{rows['prefix_start']}", shard.stat().st_mtime
        last[prefix], first = max(last.get(prefix, 0.0), written), min(first, written)
    if not last:
        raise SystemExit(f"{store}: no measurements")
    ends = np.sort(np.fromiter(last.values(), dtype=float))
    return np.diff(ends), (ends[-1] - first) / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--each", action="store_true")
    args = parser.parse_args()
    stores = sorted(p.parent for p in args.results.glob("**/manifest.json") if (p.parent / "shards").is_dir())
    if not stores:
        raise SystemExit(f"{args.results}: no measurement store (a folder with manifest.json and shards/)")
    for store in stores:
        seconds, minutes = part_times(store)
        name = store.relative_to(args.results) if store != args.results else store.name
        if not seconds.size:
            print(f"{name}: 1 prefix so far, {minutes:.1f} min from first to last file (loading included)")
            continue
        print(f"{name}: {seconds.size + 1} prefixes, {minutes:.1f} min from first to last file; per prefix "
              f"median {np.median(seconds):.0f} s, least {seconds.min():.0f} s, most {seconds.max():.0f} s")
        if args.each:
            print("  " + " ".join(f"{s:.0f}" for s in seconds))


if __name__ == "__main__":
    main()
