"""Benchmark: measurement throughput with 1 and with 2 processes (torchrun, gloo), side by side.

Runs the same small protocol on the embedded SmolLM2-135M (natural domain,
sliding window, recompute; 4 prefixes of 256 tokens, 8 targets, budgets
1..64) once as one process with 2 threads and once as 2 torchrun ranks with
1 thread each, into fresh folders, and prints tasks per second and the ratio.
On a 2-core CPU expect little gain; on a node with one GPU per rank the
prefixes split evenly, so throughput grows about linearly with the ranks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["measure", "--domain", "natural", "--policy", "sliding", "--budgets", "1:64", "--prefixes", "4",
        "--prefix-length", "256", "--targets", "8", "--quiet"]


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    with tempfile.TemporaryDirectory() as tmp:
        one = timed([sys.executable, "-m", "validation", *ARGS, "--out", f"{tmp}/one"], {"OMP_NUM_THREADS": "2"})
        two = timed([torchrun, "--nproc-per-node=2", "--master-addr=127.0.0.1", f"--master-port={port()}", "-m",
                     "validation", *ARGS, "--out", f"{tmp}/two"], {"OMP_NUM_THREADS": "1"})
    tasks = 4
    print(f"1 process : {one:6.1f} s, {tasks / one:.3f} tasks/s (model load included)")
    print(f"2 processes: {two:6.1f} s, {tasks / two:.3f} tasks/s (model load included, once per rank)")
    print(f"speed-up 2 / 1: {one / two:.2f}x on {os.cpu_count()} CPU cores")


if __name__ == "__main__":
    main()
