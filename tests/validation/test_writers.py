"""Two writers on one results folder, kills at random points, and store faults: the manifest always
lists every shard on disk, a second writer is refused in one line, a fault is one line naming the file."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from validation.runs.store import ResultStore, check_out

ROOT = Path(__file__).resolve().parents[2]
ROWS = [{"doc": "a", "budget": 2, "tv": 0.1}]


def writer(corpus_dir, out):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "tests/validation/run_tiny.py"), str(corpus_dir), str(out)],
                            env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def shards_on_disk(out: Path) -> set[str]:
    return {p.name for p in (out / "shards").glob("*.parquet")}


def listed(out: Path) -> set[str]:
    return {e["file"] for e in json.loads((out / "manifest.json").read_text())["shards"].values()}


@pytest.fixture(scope="module")
def reference(corpus_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    proc = writer(corpus_dir, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return ResultStore.open(out).table()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_writers_and_a_kill_leave_every_shard_on_disk_in_the_manifest(corpus_dir, tmp_path, reference, seed):
    """Two real processes start on one folder: one writes, the other is refused in one line; one of
    them (chosen at random) is killed at a random moment. Every shard on disk is then listed in
    the manifest, and a rerun completes to the table of an uninterrupted run."""
    rng = np.random.default_rng(seed)
    procs = [writer(corpus_dir, tmp_path), writer(corpus_dir, tmp_path)]
    time.sleep(float(rng.uniform(1.0, 5.0)))
    victim = procs[int(rng.integers(2))]
    victim.send_signal(signal.SIGKILL)
    codes = [p.wait(timeout=300) for p in procs]
    errors = [p.stderr.read() for p in procs]
    refused = [e for e in errors if "being written by another wzbounds process" in e]
    assert len(refused) <= 1 and (refused or victim.returncode == -signal.SIGKILL), errors
    if (tmp_path / "manifest.json").exists():
        assert shards_on_disk(tmp_path) <= listed(tmp_path), "a shard on disk is missing from the manifest"
    assert 0 in codes or -signal.SIGKILL in codes
    rerun = writer(corpus_dir, tmp_path)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    assert shards_on_disk(tmp_path) == listed(tmp_path)
    table = ResultStore.open(tmp_path).table()
    assert set(table) == set(reference)
    for name in reference:
        assert np.array_equal(table[name], reference[name]), name


def test_a_second_writer_in_another_process_is_refused_in_one_line(tmp_path):
    first = ResultStore(tmp_path, {"x": 1})
    code = ("import sys; from validation.runs.store import ResultStore\n"
            "try:\n    ResultStore(sys.argv[1], {'x': 1})\nexcept ValueError as e:\n    print(e); sys.exit(2)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 2 and "being written by another wzbounds process" in done.stdout
    first.close()
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_folder_being_written_can_be_read_in_another_process(tmp_path):
    """`wzbounds export` on a run in progress: reading takes no lock and sweeps nothing (it was
    refused as "being written by another wzbounds process")."""
    writer = ResultStore(tmp_path, {"x": 1})
    writer.write("ka", ROWS)
    tmp = tmp_path / "shards" / ".kb.parquet.123.tmp"  # the writer's shard in flight
    tmp.write_bytes(b"half")
    code = ("import sys; from validation.runs.store import ResultStore\n"
            "print(len(ResultStore.open(sys.argv[1]).table()['tv']))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == str(len(ROWS)), done.stdout + done.stderr
    assert tmp.exists()  # left to its writer
    writer.close()


def test_the_manifest_is_merged_from_disk_so_no_writer_forgets_another(tmp_path):
    """Two store objects that each know only their own shards: the manifest keeps both."""
    a, b = ResultStore(tmp_path, {"x": 1}), ResultStore(tmp_path, {"x": 1})
    a.write("ka", ROWS)
    b.write("kb", ROWS)
    a.write("kc", ROWS)
    assert set(json.loads((tmp_path / "manifest.json").read_text())["shards"]) == {"ka", "kb", "kc"}


@pytest.mark.parametrize(("content", "message"), [
    ("[]", "not a wzbounds manifest (a JSON list, not an object)"),
    ('{"config": {"schema": 1, "x": 1}, "shards": {"k": {"file": "a.parquet", "rows": 1}}}',
     "shard 'k' lacks a file name, a sha256 or a row count"),
    ('{"config": [], "shards": {}}', "'config' and 'shards' must be objects"),
    ("{broken", "manifest.json is corrupt"),
])
def test_a_manifest_of_another_shape_is_one_line_naming_it(tmp_path, content, message):
    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(ValueError, match="manifest.json") as info:
        ResultStore(tmp_path, {"x": 1})
    assert message in str(info.value)
    with pytest.raises(ValueError, match="manifest.json"):
        check_out(tmp_path, {"x": 1})


def test_an_unwritable_manifest_midway_is_one_line_and_keeps_what_was_recorded(tmp_path, monkeypatch):
    """The manifest folder turns unwritable after one shard: the next write fails in one line naming
    manifest.json; the first shard stays recorded and no unrecorded shard is left on disk."""
    import validation.runs.store as store_module

    store = ResultStore(tmp_path, {"x": 1})
    store.write("first", ROWS)
    real = store_module.atomic_write

    def refuse(path, data):
        if path.name == "manifest.json":
            raise PermissionError(13, "Permission denied", str(path))
        real(path, data)

    monkeypatch.setattr(store_module, "atomic_write", refuse)
    with pytest.raises(ValueError, match=r"cannot write .*manifest.json: Permission denied; finished shards are kept"):
        store.write("second", ROWS)
    monkeypatch.undo()
    store.close()
    again = ResultStore(tmp_path, {"x": 1})
    assert again.done("first") and not again.done("second")
    assert shards_on_disk(tmp_path) == listed(tmp_path)
    assert not list((tmp_path / "shards").glob(".*.tmp"))


def test_temporaries_of_a_killed_writer_are_swept_on_resume(tmp_path):
    store = ResultStore(tmp_path, {"x": 1})
    store.write("k", ROWS)
    store.close()
    (tmp_path / "shards" / ".abc.parquet.x1.tmp").write_bytes(b"half")
    (tmp_path / ".manifest.json.y2.tmp").write_bytes(b"half")
    ResultStore(tmp_path, {"x": 1})
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_run_refused_after_the_model_loads_leaves_out_as_it_was(corpus_dir, tmp_path):
    """Too few prefixes is found only once the model tokenizes the corpus: --out is not created, so
    the corrected rerun the error advises is not refused as 'another configuration'."""
    from dataclasses import replace

    from tests.validation.run_tiny import PROTOCOL
    from validation.data.corpora import folder_corpus
    from validation.runs.protocol import run
    from validation.testing.tiny import tiny_model

    out = tmp_path / "out"
    with pytest.raises(ValueError, match="ask for fewer prefixes"):
        run(replace(PROTOCOL, prefixes=500), out, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    assert not out.exists()
    store = run(replace(PROTOCOL, prefixes=2), out, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=False)
    assert len(store.shards) == 2 * len(PROTOCOL.tasks())


def test_no_progress_bar_when_stderr_is_not_a_terminal(corpus_dir, tmp_path, capsys):
    from dataclasses import replace

    from tests.validation.run_tiny import PROTOCOL
    from validation.data.corpora import folder_corpus
    from validation.runs.protocol import run
    from validation.testing.tiny import tiny_model

    run(replace(PROTOCOL, prefixes=1), tmp_path, lm=tiny_model(), corpus=folder_corpus(corpus_dir), progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and "task" not in err, err
