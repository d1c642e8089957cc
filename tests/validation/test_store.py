"""The results store: atomic shards, checksums, refusal to mix, contained paths."""

import json

import pytest

from validation.runs.store import ResultStore

ROWS = [{"doc": "a", "t": 1, "budget": 2, "tv": 0.1}, {"doc": "a", "t": 2, "budget": 2, "tv": 0.2}]


def test_write_and_read_back(tmp_path):
    store = ResultStore(tmp_path, {"x": 1})
    store.write("k1", ROWS)
    store.write("k0", ROWS[:1])
    again = ResultStore(tmp_path, {"x": 1})
    assert again.done("k1") and again.done("k0") and not again.done("k2")
    table = again.table()
    assert list(table["tv"]) == [0.1, 0.1, 0.2]  # shards in key order


def test_a_corrupt_or_missing_shard_is_forgotten_and_recomputed(tmp_path):
    store = ResultStore(tmp_path, {"x": 1})
    store.write("k", ROWS)
    shard = tmp_path / "shards" / store.shards["k"]["file"]
    shard.write_bytes(shard.read_bytes()[:-10])  # truncated
    fresh = ResultStore(tmp_path, {"x": 1})
    assert not fresh.done("k") and "k" not in json.loads((tmp_path / "manifest.json").read_text())["shards"]
    fresh.write("k", ROWS)
    assert ResultStore(tmp_path, {"x": 1}).done("k")


def test_another_configuration_is_refused(tmp_path):
    ResultStore(tmp_path, {"model": "a", "budgets": [1, 2]})
    with pytest.raises(ValueError, match=r"another configuration \(differs in: model\)"):
        ResultStore(tmp_path, {"model": "b", "budgets": [1, 2]})


def test_a_folder_from_before_the_kv_geometry_resumes_and_records_it(tmp_path):
    """A run now records the model's KV geometry ("kv"); a folder written before resumes with its
    shards and gains it, while a folder that records another geometry is refused."""
    ResultStore(tmp_path, {"model": "a"}).write("k", ROWS)
    kv = {"n_layers": 2, "n_kv_heads": 2, "head_dim": 8, "bytes_per_element": 4.0, "name": "", "layer_windows": None}
    again = ResultStore(tmp_path, {"model": "a", "kv": kv})
    assert again.done("k") and json.loads((tmp_path / "manifest.json").read_text())["config"]["kv"] == kv
    with pytest.raises(ValueError, match=r"differs in: kv"):
        ResultStore(tmp_path, {"model": "a", "kv": {**kv, "head_dim": 16}})


def test_manifest_paths_cannot_escape_the_folder(tmp_path):
    store = ResultStore(tmp_path / "out", {"x": 1})
    store.write("k", ROWS)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    manifest["shards"]["k"]["file"] = "../../evil.parquet"
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="points outside"):
        ResultStore(tmp_path / "out", {"x": 1}).done("k")


def test_corrupt_manifest_and_unwritable_folder(tmp_path):
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(ValueError, match="manifest.json is corrupt"):
        ResultStore(tmp_path, {"x": 1})
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ValueError, match="a-file/out is not writable: .*a-file is not a folder"):
        ResultStore(tmp_path / "a-file" / "out", {"x": 1})


def test_a_full_disk_keeps_finished_shards(tmp_path, monkeypatch):
    store = ResultStore(tmp_path, {"x": 1})
    store.write("done", ROWS)

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("validation.runs.store.os.fsync", no_space)
    with pytest.raises(ValueError, match="No space left on device; finished shards are kept"):
        store.write("next", ROWS)
    monkeypatch.undo()
    again = ResultStore(tmp_path, {"x": 1})
    assert again.done("done") and not again.done("next")
    assert not [p for p in (tmp_path / "shards").iterdir() if p.name.endswith(".tmp")]
