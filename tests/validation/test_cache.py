"""The cache: artifacts built once under a lock by processes sharing a fresh cache, verified on
every use, rebuilt when changed, and one line when the cache cannot be written."""

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from validation.data.cache import DIGESTS, cached_file, cached_folder, sha256_of
from validation.errors import CacheError

PAYLOAD = b"weights" * 1000


def _slow_file(tmp: Path) -> None:
    time.sleep(0.5)  # both processes are inside at once unless the lock keeps one out
    tmp.write_bytes(PAYLOAD)
    (tmp.parent / f"built-{tmp.name}.marker").write_text("x")  # count the builds


def _slow_folder(tmp: Path) -> None:
    time.sleep(0.5)
    (tmp / "config.json").write_text("{}")
    (tmp / "weights.bin").write_bytes(PAYLOAD)
    (tmp.parent / f"built-{tmp.name}.marker").write_text("x")


def _build(kind: str, target: str, digest: str, queue) -> None:
    try:
        if kind == "file":
            path = cached_file(Path(target), digest, _slow_file, "test artifact")
            queue.put(path.read_bytes() == PAYLOAD)
        else:
            path = cached_folder(Path(target), _slow_folder, "test artifact")
            queue.put((path / "weights.bin").read_bytes() == PAYLOAD)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(repr(exc))


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_two_first_runs_sharing_a_fresh_cache_build_once_and_both_succeed(tmp_path, kind):
    digest = __import__("hashlib").sha256(PAYLOAD).hexdigest()
    target = tmp_path / ("model.gguf" if kind == "file" else "model")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build, args=(kind, str(target), digest, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [queue.get(timeout=10) for _ in procs] == [True, True]
    assert len(list(tmp_path.glob("built-*"))) == 1, "the artifact was built twice"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_cached_file_is_verified_on_every_use_and_rebuilt_when_changed(tmp_path):
    digest = __import__("hashlib").sha256(PAYLOAD).hexdigest()
    target = tmp_path / "model.gguf"
    cached_file(target, digest, _slow_file, "test artifact")
    target.write_bytes(PAYLOAD[:-1])  # truncated behind our back
    assert sha256_of(cached_file(target, digest, _slow_file, "test artifact")) == digest
    assert len(list(tmp_path.glob("built-*"))) == 2


def test_a_build_that_does_not_match_its_digest_is_one_line_and_leaves_nothing(tmp_path):
    with pytest.raises(CacheError, match="built model.gguf has sha256 .*, expected 0+"):
        cached_file(tmp_path / "model.gguf", "0" * 64, _slow_file, "test artifact")
    assert not (tmp_path / "model.gguf").exists() and not list(tmp_path.glob(".model.gguf.*.part"))


def test_a_cached_folder_with_a_changed_file_or_no_digest_list_is_rebuilt(tmp_path):
    target = tmp_path / "model"
    cached_folder(target, _slow_folder, "test artifact")
    assert json.loads((target / DIGESTS).read_text())["weights.bin"] == sha256_of(target / "weights.bin")
    (target / "weights.bin").write_bytes(b"changed")
    cached_folder(target, _slow_folder, "test artifact")
    assert (target / "weights.bin").read_bytes() == PAYLOAD
    (target / DIGESTS).unlink()  # e.g. a folder from an older wzbounds: not trusted
    cached_folder(target, _slow_folder, "test artifact")
    assert len(list(tmp_path.glob("built-*"))) == 3


def test_an_unwritable_cache_is_one_line_naming_it(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CacheError, match="test artifact: cannot write the cache at .*a-file"):
        cached_folder(tmp_path / "a-file" / "model", _slow_folder, "test artifact")
