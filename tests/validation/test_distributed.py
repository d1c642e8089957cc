"""Sharding over processes with torchrun (gloo on CPU): same table as one process; a killed rank resumes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.validation.run_tiny import PROTOCOL
from validation.runs.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    for i in range(12):
        (folder / f"doc{i:02d}.txt").write_text(" ".join(rng.choice(["cache", "window", "token", "law"], 400)))
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(corpus_dir, out, n):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [str(TORCHRUN), f"--nproc-per-node={n}", "--master-addr=127.0.0.1", f"--master-port={free_port()}",
           str(ROOT / "tests/validation/run_tiny.py"), str(corpus_dir), str(out)]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)


def table(out):
    return ResultStore.open(out).table()


def assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.fixture(scope="module")
def single(corpus_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, str(ROOT / "tests/validation/run_tiny.py"), str(corpus_dir), str(out)], env=env,
                   cwd=ROOT, check=True, timeout=300)
    return table(out)


def test_two_processes_give_the_single_process_table_row_for_row(corpus_dir, tmp_path, single):
    assert launch(corpus_dir, tmp_path, 2).wait(timeout=300) == 0
    assert not list(tmp_path.glob("manifest.rank*.json"))  # merged by rank 0
    assert_same(single, table(tmp_path))


def test_a_killed_rank_loses_nothing_and_a_rerun_completes_the_rest(corpus_dir, tmp_path, single):
    proc = launch(corpus_dir, tmp_path, 2)
    deadline = time.time() + 120
    while time.time() < deadline:
        ranks = list(tmp_path.glob("manifest.rank*.json"))
        try:
            if sum(len(json.loads(p.read_text())["shards"]) for p in ranks) >= 8:
                break
        except (json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.005)
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    os.kill(int(workers[-1]), signal.SIGKILL)  # one rank dies; torchrun then stops the others
    assert proc.wait(timeout=120) != 0
    written = sum(len(json.loads(p.read_text())["shards"]) for p in tmp_path.glob("manifest.rank*.json"))
    assert 0 < written < PROTOCOL.prefixes * len(PROTOCOL.tasks())
    assert launch(corpus_dir, tmp_path, 2).wait(timeout=300) == 0
    assert_same(single, table(tmp_path))
