"""The protocol end to end on the tiny model: tables, curves, and resume after a real kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.validation.run_tiny import PROTOCOL
from tests.validation.tiny import tiny_model
from validation.corpora import folder_corpus
from validation.protocol import Protocol, curves, run
from validation.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "window", "cache", "token", "model", "law", "bound"]
    for i in range(12):
        text = " ".join(rng.choice(words, size=400)) + "\n"
        (folder / f"doc{i:02d}.txt").write_text(text)
    (folder / "short.txt").write_text("too short\n")
    return folder


def run_tiny(corpus_dir, out, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "tests/validation/run_tiny.py"), str(corpus_dir), str(out), *extra],
                            env=env, cwd=ROOT)


def test_protocol_writes_a_tidy_table_and_curves(tmp_path, corpus_dir):
    store = run(PROTOCOL, tmp_path, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    table = store.table()
    n_tasks = PROTOCOL.prefixes * len(PROTOCOL.tasks())
    assert len(store.shards) == n_tasks
    assert len(table["tv"]) == n_tasks * PROTOCOL.targets * len(PROTOCOL.budgets)
    assert set(table) >= {"doc", "prefix_start", "t", "policy", "mode", "positions", "budget", "tv", "kl_0.1"}
    assert "short.txt" not in set(table["doc"])  # too short: skipped, not padded
    c = curves(table, "sliding", "recompute", mu=0.1)
    assert c.tv.shape == (PROTOCOL.prefixes, len(PROTOCOL.budgets))
    assert c.mean("tv")[-1] < c.mean("tv")[0]


def test_protocol_refuses_budgets_beyond_the_prefix():
    with pytest.raises(ValueError, match="budget 600 is larger than the prefix"):
        Protocol(budgets=(1, 600), prefix_length=512, targets=16)
    with pytest.raises(ValueError, match="policies must be a non-empty selection"):
        Protocol(policies=("lru",))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_killed_run_resumes_to_the_same_table(tmp_path, corpus_dir, seed):
    reference = tmp_path / "reference"
    assert run_tiny(corpus_dir, reference).wait(timeout=300) == 0
    out = tmp_path / "killed"
    proc = run_tiny(corpus_dir, out)
    target = 3 + 7 * seed  # kill after this many shards
    deadline = time.time() + 120
    while time.time() < deadline:
        manifest = out / "manifest.json"
        if manifest.exists():
            try:
                if len(json.loads(manifest.read_text())["shards"]) >= target:
                    break
            except (json.JSONDecodeError, KeyError):
                pass
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(json.loads((out / "manifest.json").read_text())["shards"])
    assert partial < PROTOCOL.prefixes * len(PROTOCOL.tasks())  # it really was cut short
    assert run_tiny(corpus_dir, out).wait(timeout=300) == 0
    a = ResultStore(reference, _config()).table()
    b = ResultStore(out, _config()).table()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def _config():
    from dataclasses import asdict

    return asdict(PROTOCOL)
