"""Pinned downloads (validation.data.fetch) without a network: the package client is replaced by a
stand-in that writes the file, so what is tested is fetch's own logic: verify, place, reuse, refuse."""

import hashlib
import subprocess
from pathlib import Path

import pytest

from validation.data import fetch
from validation.errors import FetchError

CONTENT = b"a pinned artifact\n"


def artifact(registry="pypi", digest=None):
    return fetch.Artifact("test artifact", registry, "wzbounds-test-artifact", "1.2.3", "artifact-1.2.3.whl",
                          digest or hashlib.sha256(CONTENT).hexdigest())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WZBOUNDS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "downloads"


def fake_client(calls, content=CONTENT):
    """A stand-in for `pip download` / `npm pack`: writes the file into the folder it is given."""

    def run(cmd, **kwargs):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1] if "-d" in cmd else cmd[cmd.index("--pack-destination") + 1])
        (dest / "artifact-1.2.3.whl").write_bytes(content)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return run


def test_a_fetch_verifies_places_and_then_reuses_the_file(cache, monkeypatch):
    calls = []
    monkeypatch.setattr(fetch.subprocess, "run", fake_client(calls))
    first = fetch.fetch(artifact())
    assert first == cache / "artifact-1.2.3.whl" and first.read_bytes() == CONTENT
    assert calls[0][calls[0].index("download"):calls[0].index("-d")] == [
        "download", "--no-deps", "--only-binary", ":all:", "--quiet", "wzbounds-test-artifact==1.2.3"]
    assert fetch.fetch(artifact()) == first and len(calls) == 1  # verified, not fetched again
    assert not [p for p in cache.iterdir() if p.name.startswith(".fetch-")]  # no temporary left


def test_a_download_with_the_wrong_digest_is_refused_and_not_placed(cache, monkeypatch):
    monkeypatch.setattr(fetch.subprocess, "run", fake_client([], content=b"tampered\n"))
    with pytest.raises(FetchError, match="has sha256 .*, expected .*; delete it and fetch again"):
        fetch.fetch(artifact())
    assert not (cache / "artifact-1.2.3.whl").exists()


def test_a_cached_file_that_changed_is_refused_on_use(cache, monkeypatch):
    monkeypatch.setattr(fetch.subprocess, "run", fake_client([]))
    placed = fetch.fetch(artifact())
    placed.write_bytes(b"changed on disk\n")
    with pytest.raises(FetchError, match="delete it and fetch again"):
        fetch.fetch(artifact())


def test_npm_missing_says_how_to_provide_the_file_by_hand(cache, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    with pytest.raises(FetchError, match=r"npm is not installed; to provide it by hand, run `\(cd .* && npm pack "
                                          r"wzbounds-test-artifact@1.2.3\)`"):
        fetch.fetch(artifact("npm"))


def test_a_failing_client_is_one_line_with_its_last_message(cache, monkeypatch):
    monkeypatch.setattr(fetch.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "first\nERROR: no such version\n"))
    with pytest.raises(FetchError, match=r"could not fetch wzbounds-test-artifact==1.2.3 \(ERROR: no such version\); "
                                          "to provide it by hand, run `pip download --no-deps --only-binary :all:"):
        fetch.fetch(artifact())
