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
from validation.data.corpora import folder_corpus
from validation.errors import MeasurementWarning
from validation.runs.protocol import Protocol, curves, run
from validation.runs.store import ResultStore
from validation.testing.tiny import tiny_model

ROOT = Path(__file__).resolve().parents[2]


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
    with pytest.raises(ValueError, match="unknown policy 'lru'"):
        Protocol(policies=("lru",))
    with pytest.raises(ValueError, match="kernel must be a whole number >= 1"):
        Protocol(policies=("snapkv:kernel=0",))
    with pytest.raises(ValueError, match="bos must be one of"):
        Protocol(bos="sometimes")


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
    a = ResultStore.open(reference).table()
    b = ResultStore.open(out).table()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.fixture
def broken_policy():
    """A registered policy that fails inside the engine at budgets above 2."""
    from dataclasses import dataclass
    from typing import ClassVar

    from validation.policies import POLICIES, CachePolicy, register_policy

    @dataclass(frozen=True)
    class Broken(CachePolicy):
        name: ClassVar[str] = "test_broken"

        def choose(self, t, budget, scores):
            if budget > 2:
                raise RuntimeError("kept set exploded")
            return np.arange(t - budget + 1, t + 1)

    register_policy(Broken)
    yield "test_broken"
    POLICIES.pop("test_broken")


def test_a_failing_task_is_one_line_and_the_rest_is_saved(tmp_path, corpus_dir, broken_policy, capsys):
    protocol = Protocol(model="tiny", domain="tiny", policies=("sliding", broken_policy), modes=("recompute", "evict"),
                        budgets=(1, 4), prefixes=2, prefix_length=32, targets=2, mus=(0.1,))
    store = run(protocol, tmp_path, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("wzbounds: error:")]
    assert len(lines) == 4 == len(store.failures)  # 2 prefixes x 2 modes of the broken policy
    assert all("tiny-llama:" in l and "test_broken" in l and "RuntimeError: kept set exploded" in l for l in lines)
    assert len(store.shards) == 4  # sliding, in both modes, on both prefixes
    assert json.loads((tmp_path / "failures.json").read_text()) == store.failures


def test_a_policy_that_cannot_run_in_an_asked_mode_is_reported_not_skipped(tmp_path, corpus_dir, capsys):
    """--mode online,evict --policy sliding,random once ran 3 of 4 tasks per prefix in silence."""
    protocol = Protocol(model="tiny", domain="tiny", policies=("sliding", "random"), modes=("online", "evict"),
                        budgets=(1, 4), prefixes=2, prefix_length=32, targets=2, mus=(0.1,))
    store = run(protocol, tmp_path, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("wzbounds: error:")]
    assert lines == ["wzbounds: error: random cannot run in online mode (it runs in recompute, evict): not measured"]
    assert store.failures == {"random|online": lines[0].removeprefix("wzbounds: error: ")}
    assert json.loads((tmp_path / "failures.json").read_text()) == store.failures
    assert len(store.shards) == 2 * 3  # the three runnable tasks on both prefixes


def test_measure_exits_2_after_saving_what_ran(tmp_path, corpus_dir, broken_policy, monkeypatch, capsys):
    import validation.data.models
    from wzbounds.cli import main

    monkeypatch.setattr(validation.data.models, "load_model", lambda *a, **k: tiny_model())
    monkeypatch.setattr(validation.data.models, "model_source", lambda spec: None)  # "tiny" is no path: accept it
    status = main(["measure", "--model", "tiny", "--domain", str(corpus_dir), "--policy", f"sliding,{broken_policy}",
                   "--budgets", "1,4", "--prefixes", "2", "--prefix-length", "32", "--targets", "2", "--quiet",
                   "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert "2 task(s) failed, the rest are saved" in err.splitlines()[-1]
    assert len(ResultStore.open(tmp_path).shards) == 2


def test_policy_hyperparameters_are_recorded(tmp_path, corpus_dir):
    protocol = Protocol(model="tiny", domain="tiny", policies=("sink:n_sink=2", "random"), budgets=(1, 4), prefixes=1,
                        prefix_length=32, targets=2, mus=(0.1,), seed=5)
    store = run(protocol, tmp_path, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    config = json.loads((tmp_path / "manifest.json").read_text())["config"]
    assert config["hyperparameters"] == {"sink:n_sink=2": {"policy": "sink", "n_sink": 2},
                                         "random": {"policy": "random", "seed": 5}}
    assert set(store.table()["policy"]) == {"sink:n_sink=2", "random"}


def test_budgets_past_a_sliding_window_warn_and_long_prefixes_are_refused(tmp_path, corpus_dir):
    from tests.validation.zoo import WINDOW, zoo_model
    from validation.errors import MeasurementWarning

    protocol = Protocol(model="tiny", domain="tiny", budgets=(4, 16), prefixes=1, prefix_length=32, targets=2,
                        mus=(0.1,))
    with pytest.warns(MeasurementWarning, match=f"budgets above {WINDOW} exceed the sliding window of tiny-mistral: "
                                                 "every layer"):
        run(protocol, tmp_path / "a", lm=zoo_model("mistral"), corpus=folder_corpus(corpus_dir), progress=False)
    long = Protocol(model="tiny", domain="tiny", budgets=(4,), prefixes=1, prefix_length=300, targets=2)
    with pytest.raises(ValueError, match="prefixes of 300 tokens exceed the context of tiny-llama .256 positions"):
        run(long, tmp_path / "b", lm=zoo_model("llama"), corpus=folder_corpus(corpus_dir), progress=False)
    assert not (tmp_path / "b").exists()  # refused before anything was written


def test_spaced_targets_are_measured_recorded_and_bounded(tmp_path, corpus_dir):
    spaced = Protocol(model="tiny", domain="tiny", policies=("sliding",), budgets=(2, 8), prefixes=2,
                      prefix_length=40, targets=3, target_spacing=12, mus=(0.1,))
    with pytest.warns(MeasurementWarning, match="the first of the spaced targets sees 16 tokens, less than 4x the "
                                               "largest budget"):
        store = run(spaced, tmp_path / "spaced", lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    assert sorted(set(store.table()["t"].tolist())) == [15, 27, 39]
    config = json.loads((tmp_path / "spaced" / "manifest.json").read_text())["config"]
    assert config["target_spacing"] == 12
    plain = Protocol(model="tiny", domain="tiny", policies=("sliding",), budgets=(2, 8), prefixes=2, prefix_length=40,
                     targets=3, mus=(0.1,))
    run(plain, tmp_path / "plain", lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    assert "target_spacing" not in json.loads((tmp_path / "plain" / "manifest.json").read_text())["config"]
    with pytest.raises(ValueError, match=r"targets \(4, 13 apart\) must be fewer than the prefix length \(40\)"):
        Protocol(prefix_length=40, targets=4, target_spacing=13, budgets=(2,))
    with pytest.raises(ValueError, match="budget 17 is larger than the prefix: the first target sees only 16 tokens"):
        Protocol(prefix_length=40, targets=3, target_spacing=12, budgets=(17,))
