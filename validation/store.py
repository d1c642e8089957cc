"""Results on disk: Parquet shards with checksums and a manifest, written as the work goes.

    OUT/manifest.json       {"config": {...}, "shards": {key: {"file", "sha256", "rows"}}}
    OUT/shards/<id>.parquet one task's rows (one prefix, policy, mode, positions flag)

Every write is atomic (temporary file, then rename), so a killed run leaves
either a whole shard or none. On resume, a shard whose checksum does not
match (or whose file is missing) is dropped and recomputed, never used. A
folder holding a run with another configuration is refused rather than
mixed. File names in the manifest are checked to stay inside the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1


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


class ResultStore:
    """A results folder for one measurement configuration (see the module docstring)."""

    def __init__(self, out: str | Path, config: dict[str, Any], rank: int | None = None) -> None:
        """`rank` (distributed runs) gives each process its own manifest.rank<N>.json, so ranks
        never write one file at once; `merge` folds them into manifest.json."""
        self.root = Path(out)
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
        self.failures: dict[str, str] = {}  # task key -> one line, filled by validation.protocol.run
        for path in [self.main_path, *sorted(self.root.glob("manifest.rank*.json"))]:
            if path.exists():
                self.shards.update(self._read(path).get("shards", {}))
        if not self.main_path.exists():
            atomic_write(self.main_path, json.dumps({"config": self.config, "shards": {}}, indent=1).encode("utf-8"))
        if rank is None:
            self.merge()
        else:
            self._save_manifest()

    @classmethod
    def open(cls, out: str | Path) -> ResultStore:
        """An existing results folder, for reading, under the configuration it records."""
        path = Path(out) / "manifest.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))["config"]
        except FileNotFoundError:
            raise ValueError(f"{out} holds no results (no manifest.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            raise ValueError(f"{path} is corrupt; move the folder away or use another --out") from None
        return cls(out, {k: v for k, v in config.items() if k != "schema"})

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"{path} is corrupt; move the folder away or use another --out") from None
        if manifest.get("config") != self.config:
            diff = sorted(k for k in set(manifest.get("config", {})) | set(self.config)
                          if manifest.get("config", {}).get(k) != self.config.get(k))
            raise ValueError(f"results folder {self.root} holds a run with another configuration "
                             f"(differs in: {', '.join(diff)}); use another --out rather than mixing them")
        return manifest

    def merge(self) -> None:
        """Fold every rank's manifest into manifest.json (called by rank 0 after the others finish,
        and by any single-process store on opening), then remove the rank files."""
        for path in sorted(self.root.glob("manifest.rank*.json")):
            self.shards.update(self._read(path).get("shards", {}))
        body = {"config": self.config, "shards": dict(sorted(self.shards.items()))}
        atomic_write(self.main_path, json.dumps(body, indent=1).encode("utf-8"))
        for path in self.root.glob("manifest.rank*.json"):
            path.unlink(missing_ok=True)

    def _save_manifest(self) -> None:
        body = {"config": self.config, "shards": dict(sorted(self.shards.items()))}
        atomic_write(self.manifest_path, json.dumps(body, indent=1).encode("utf-8"))

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
        self._save_manifest()
        return False

    def write(self, key: str, rows: list[dict[str, Any]]) -> None:
        """Store a task's rows as one shard (atomic), then record it in the manifest (atomic)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        data = sink.getvalue().to_pybytes()
        name = hashlib.sha1(key.encode()).hexdigest()[:20] + ".parquet"
        entry = {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(rows)}
        try:
            atomic_write(self._path(entry), data)
        except OSError as exc:
            raise ValueError(f"cannot write results to {self.root}: {exc.strerror}; finished shards are kept") from None
        self.shards[key] = entry
        self._save_manifest()

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
