"""Results on disk: Parquet shards with checksums and a manifest, written as the work goes.

    OUT/manifest.json       {"config": {...}, "shards": {key: {"file", "sha256", "rows"}}}
    OUT/shards/<id>.parquet one task's rows (one prefix, policy, mode, positions flag)
    OUT/.lock               held by the process writing the folder (advisory, fcntl)

Every write is atomic (temporary file, then rename), so a killed run leaves
either a whole shard or none. A shard is recorded in the manifest before it is
renamed into place, so every shard on disk is listed (a listed shard that never
arrived is recomputed). The manifest is read from disk, merged and written under
a lock, so no writer forgets another's shards; a second process writing the same
folder is refused in one line while the first runs (ranks of one distributed run
share it). On resume, a shard whose checksum does not match (or whose file is
missing) is dropped and recomputed, never used. A folder holding a run with
another configuration is refused rather than mixed; a manifest that is not one
this module wrote is refused in one line naming it. File names in the manifest
are checked to stay inside the folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from validation.data.cache import file_lock

SCHEMA_VERSION = 1
RECORDED_LATER = ("kv",)  # configuration keys newer runs record: a folder without them resumes and gains them
SHA256 = re.compile(r"[0-9a-f]{64}")


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename: all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_out(out: str | Path, config: dict[str, Any] | None = None) -> Path:
    """Check a results folder before any work, writing nothing: a non-empty path that is not a
    file, under a writable folder, and, when it already holds a run, one whose recorded
    configuration agrees with `config` on every key `config` gives. Returns the path."""
    if not str(out).strip():
        raise ValueError("--out must name a folder; got an empty path")
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ValueError(f"--out {root} is a file, not a folder")
    existing = next(p for p in (root, *root.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"output folder {root} is not writable: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {root} is not writable: no write permission on {existing}")
    manifest = root / "manifest.json"
    if config is not None and manifest.is_file():
        recorded = read_manifest(manifest)["config"]
        diff = sorted(k for k in config if k in recorded and json.loads(json.dumps(config[k])) != recorded[k])
        if diff:
            raise _another_configuration(root, diff)
    return root


def _another_configuration(root: Path, diff: list[str]) -> ValueError:
    return ValueError(f"results folder {root} holds a run with another configuration "
                      f"(differs in: {', '.join(diff)}); use another --out rather than mixing them")


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest file's content, checked against the schema this module writes (one line naming
    the file and what is wrong otherwise)."""
    def bad(why: str) -> ValueError:
        return ValueError(f"{path} is not a wzbounds manifest ({why}); move the folder away or use another --out")

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is corrupt; move the folder away or use another --out") from None
    if not isinstance(manifest, dict):
        raise bad(f"a JSON {type(manifest).__name__}, not an object")
    if not isinstance(manifest.get("config"), dict) or not isinstance(manifest.get("shards", {}), dict):
        raise bad("'config' and 'shards' must be objects")
    for key, entry in manifest.get("shards", {}).items():
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
                and isinstance(entry.get("sha256"), str) and SHA256.fullmatch(entry["sha256"])
                and isinstance(entry.get("rows"), int)):
            raise bad(f"shard {key!r} lacks a file name, a sha256 or a row count")
    return manifest


class _FolderLocks:
    """This process's run locks on results folders, counted, so that several stores of one
    process may share a folder while any other process is refused."""

    held: dict[Path, list] = {}

    @classmethod
    def acquire(cls, root: Path, shared: bool) -> None:
        key = root.resolve()
        if key in cls.held:
            cls.held[key][1] += 1
            return
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ValueError(f"results folder {root} is being written by another wzbounds process; wait for it "
                             "to finish (then re-run to resume) or use another --out") from None
        cls.held[key] = [fd, 1]

    @classmethod
    def release(cls, root: Path) -> None:
        key = root.resolve()
        if key in cls.held:
            cls.held[key][1] -= 1
            if cls.held[key][1] == 0:
                os.close(cls.held.pop(key)[0])


class ResultStore:
    """A results folder for one measurement configuration (see the module docstring)."""

    def __init__(self, out: str | Path, config: dict[str, Any], rank: int | None = None) -> None:
        """`rank` (distributed runs) gives each process its own manifest.rank<N>.json, so ranks
        never write one file at once; `merge` folds them into manifest.json. The folder's run
        lock is held (shared between the ranks of one run) until `close`."""
        self.root = Path(out)
        check_out(self.root)
        try:
            (self.root / "shards").mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root, prefix=".write-test."):
                pass  # a unique name, so ranks probing one folder at once never race
        except OSError as exc:
            raise ValueError(f"output folder {self.root} is not writable: {exc.strerror}") from None
        self.config = json.loads(json.dumps({"schema": SCHEMA_VERSION, **config}, sort_keys=True))
        self.main_path = self.root / "manifest.json"
        self.manifest_path = self.main_path if rank is None else self.root / f"manifest.rank{rank}.json"
        self.shards: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, str] = {}  # task key -> one line (`record_failures`)
        self.rank = rank
        _FolderLocks.acquire(self.root, shared=rank is not None)
        self._open = True
        try:
            self._read_all()
            if rank is None:
                self._sweep()
                self.merge()
            else:
                self._update()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the folder's run lock (the store can still be read)."""
        if getattr(self, "_open", False):
            self._open = False
            _FolderLocks.release(self.root)

    def __del__(self) -> None:
        self.close()

    @classmethod
    def open(cls, out: str | Path) -> ResultStore:
        """An existing results folder, read-only, under the configuration it records: no run lock is
        taken and nothing is swept or merged, so a folder another process is writing can be read
        (its shards recorded so far; a rank's manifest included)."""
        path = Path(out) / "manifest.json"
        if not path.is_file():
            raise ValueError(f"{out} holds no results (no manifest.json)")
        store = cls.__new__(cls)
        store.root, store.main_path = Path(out), path
        store.manifest_path = path
        store.config = read_manifest(path)["config"]
        store.failures, store.shards = {}, {}
        store._read_all()
        return store

    def _read_all(self) -> None:
        """Every shard the folder's manifests record: the main one and each rank's."""
        for path in [self.main_path, *sorted(self.root.glob("manifest.rank*.json"))]:
            if path.exists():
                self.shards.update(self._read(path).get("shards", {}))

    def _read(self, path: Path) -> dict[str, Any]:
        manifest = read_manifest(path)
        recorded = manifest["config"]
        diff = sorted(k for k in set(recorded) | set(self.config) if recorded.get(k) != self.config.get(k)
                      and not (k in RECORDED_LATER and k not in recorded))
        if diff:
            raise _another_configuration(self.root, diff)
        return manifest

    def _sweep(self) -> None:
        """Remove temporaries left by a killed writer (only its shards' and manifests' own names)."""
        for tmp in [*self.root.glob(".manifest*.json.*.tmp"), *(self.root / "shards").glob(".*.parquet.*.tmp")]:
            tmp.unlink(missing_ok=True)

    def _update(self, add: dict[str, dict[str, Any]] | None = None, remove: str | None = None,
                path: Path | None = None) -> dict[str, dict[str, Any]]:
        """Read the manifest file from disk, merge this store's changes into it, write it back,
        all under the manifest lock, so that no writer's shards are forgotten by another."""
        path = path or self.manifest_path
        try:
            with file_lock(self.root / ".manifest.lock"):
                on_disk = self._read(path).get("shards", {}) if path.exists() else {}
                shards = {**on_disk, **self.shards, **(add or {})}
                shards.pop(remove, None)
                body = {"config": self.config, "shards": dict(sorted(shards.items()))}
                atomic_write(path, json.dumps(body, indent=1).encode("utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot write {path}: {exc.strerror or exc}; finished shards are kept") from None
        self.shards = shards
        return shards

    def merge(self) -> None:
        """Fold every rank's manifest into manifest.json (called by rank 0 after the others finish,
        and by any single-process store on opening), then remove the rank files."""
        for path in sorted(self.root.glob("manifest.rank*.json")):
            self.shards.update(self._read(path).get("shards", {}))
        self._update(path=self.main_path)
        for path in self.root.glob("manifest.rank*.json"):
            path.unlink(missing_ok=True)

    def _path(self, entry: dict[str, Any]) -> Path:
        path = (self.root / "shards" / entry["file"]).resolve()
        if path.parent != (self.root / "shards").resolve():
            raise ValueError(f"manifest entry {entry['file']!r} points outside {self.root / 'shards'}")
        return path

    def done(self, key: str) -> bool:
        """Whether task `key` has a shard whose checksum verifies (a bad one is forgotten)."""
        entry = self.shards.get(key)
        if entry is None:
            return False
        path = self._path(entry)
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]:
            return True
        del self.shards[key]
        self._update(remove=key)
        return False

    def write(self, key: str, rows: list[dict[str, Any]]) -> None:
        """Store a task's rows as one shard: written to a temporary file, recorded in the manifest,
        then renamed into place, so that every shard on disk is in the manifest."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        data = sink.getvalue().to_pybytes()
        name = hashlib.sha1(key.encode()).hexdigest()[:20] + ".parquet"
        entry = {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(rows)}
        target = self._path(entry)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".tmp")
        try:
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                raise ValueError(f"cannot write results to {target.parent}: {exc.strerror}; "
                                 "finished shards are kept") from None
            self._update(add={key: entry})
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def record_failures(self, failures: dict[str, str]) -> None:
        """The tasks that failed in this run, one line each: kept in `failures` and written to
        failures.json (failures.rankN.json for a rank of a distributed run); an old file is
        overwritten, so the folder never reports failures a later run has fixed."""
        self.failures = dict(failures)
        path = self.root / ("failures.json" if self.rank is None else f"failures.rank{self.rank}.json")
        if failures or path.exists():
            atomic_write(path, json.dumps(self.failures, indent=1).encode("utf-8"))

    def table(self) -> dict[str, np.ndarray]:
        """All rows, shards in key order, as named columns."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for key in sorted(self.shards):
            if not self.done(key):
                raise ValueError(f"shard for {key!r} is missing or corrupt; re-run to recompute it")
            tables.append(pq.read_table(self._path(self.shards[key])))
        if not tables:
            return {}
        merged = pa.concat_tables(tables, promote_options="default")
        return {name: merged.column(name).to_numpy(zero_copy_only=False) for name in merged.column_names}
