"""The on-disk cache ($WZBOUNDS_CACHE): locked, atomic, and verified on every use.

Several processes may share one cache (two first runs on a fresh machine,
ranks of a distributed run, the two test environments). Every artifact is
therefore built under an exclusive lock of its own, into a temporary name no
other process uses, and renamed into place whole; a process that waited for
the lock finds the artifact done. Every folder artifact carries a digest list
(`wzbounds-digests.json`: the sha256 of each of its files), checked each time
it is used: a folder whose files were changed or truncated is rebuilt, never
trusted.

    file_lock(path)                 an advisory lock (fcntl) held by a `with` block
    cached_file(target, digest, build)
    cached_folder(target, build)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from validation.errors import CacheError

DIGESTS = "wzbounds-digests.json"


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) for the `with` block, waiting
    for any other holder. The lock goes with the process: a killed holder never leaves it taken.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_path(target: Path) -> Path:
    """The lock file guarding the building of `target`: .NAME.lock beside it."""
    return target.with_name(f".{target.name}.lock")


def cached_file(target: Path, digest: str, build: Callable[[Path], None], what: str) -> Path:
    """`target`, verified against `digest`; built first (by `build(tmp)` writing a temporary
    file, then renamed into place) when missing or when its digest does not match."""
    try:
        with file_lock(lock_path(target)):
            if target.is_file() and sha256_of(target) == digest:
                return target
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            os.close(fd)
            try:
                build(Path(tmp))
                actual = sha256_of(Path(tmp))
                if actual != digest:
                    raise CacheError(f"{what}: built {target.name} has sha256 {actual}, expected {digest}")
                os.replace(tmp, target)
            finally:
                Path(tmp).unlink(missing_ok=True)
            return target
    except OSError as exc:
        raise CacheError(f"{what}: cannot write the cache at {target.parent}: {exc.strerror or exc}") from None


def folder_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (but the digest list itself), by relative path."""
    return {p.relative_to(folder).as_posix(): sha256_of(p)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != DIGESTS}


def folder_verifies(folder: Path) -> bool:
    """Whether `folder` holds a digest list and exactly the files it lists, each with its digest."""
    try:
        listed = json.loads((folder / DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(listed, dict) and bool(listed) and folder_digests(folder) == listed


def cached_folder(target: Path, build: Callable[[Path], None], what: str) -> Path:
    """`target`, a folder verified against its digest list; built first (by `build(tmp)` filling
    a temporary folder, then renamed into place) when missing or when it fails verification."""
    try:
        with file_lock(lock_path(target)):
            if folder_verifies(target):
                return target
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
            try:
                build(tmp)
                (tmp / DIGESTS).write_text(json.dumps(folder_digests(tmp), indent=1, sort_keys=True), encoding="utf-8")
                if target.exists():  # a folder that failed verification (or an old layout): replaced, not trusted
                    shutil.rmtree(target)
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return target
    except OSError as exc:
        raise CacheError(f"{what}: cannot write the cache at {target.parent}: {exc.strerror or exc}") from None
