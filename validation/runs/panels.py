"""Every measured curve of a results folder, as per-document panels others can read without torch.

`export_panels(RESULTS, DEST)` writes, for each domain and part of a validate /
arena output (or a single measure folder):

    DEST/<domain>/<part>/<policy>_<mode>_<positions>.csv   check's format: sample,window,tv,kl
                                                            (one sample per document, doc@start;
                                                            kl = KL_mu at `mu`, noted in the header)
    DEST/<domain>/<part>/measurements.parquet               the store's table, one row per target
    DEST/<domain>/<part>/protocol.json                      the configuration it was measured under

The committed panels under docs/panels/ were written this way; the claims'
calibration (`wzbounds.claims.calibration`) resamples them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np


def _file_name(policy: str, mode: str, positions: str) -> str:
    return f"{policy.replace(':', '-').replace(',', '-')}_{mode}_{positions}.csv"


def measurement_folders(results: str | Path, domain: str | None = None) -> list[tuple[str, str, Path]]:
    """(domain, part, folder) of every measurement folder under RESULTS: RESULTS itself when it is a
    measure folder (domain "curves", part its name); else validate's OUT/measure/<domain>/<part>/ and
    the arena's OUT/measure/<domain>/ (part "arena"). With `domain`, that domain's only."""
    results = Path(results)
    if (results / "manifest.json").is_file():
        return [("curves", results.name, results)]
    measure = results / "measure"
    if not measure.is_dir():
        raise ValueError(f"{results} holds no measurements (no manifest.json, no measure/ folder)")
    found = sorted([(m.parent.parent.name, m.parent.name, m.parent) for m in measure.glob("*/*/manifest.json")]
                   + [(m.parent.name, "arena", m.parent) for m in measure.glob("*/manifest.json")])
    if domain is None:
        return found
    domains = sorted({d for d, _, _ in found})
    if domain not in domains:
        raise ValueError(f"{results} has no domain {domain!r}; it has {', '.join(domains) or 'none'}")
    return [f for f in found if f[0] == domain]


def export_panels(results: str | Path, dest: str | Path, mu: float = 0.1) -> list[Path]:
    """Write every (policy, mode, positions) curve under `results` to `dest` (module docstring);
    returns the CSV files written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from validation.runs.protocol import curves, documents
    from validation.runs.store import ResultStore, read_manifest
    from wzbounds.curves import write_csv

    results, dest = Path(results), Path(dest)
    if not results.is_dir():
        raise ValueError(f"results folder {results} does not exist")
    written = []
    for domain, part, folder in measurement_folders(results):
        table = ResultStore.open(folder).table()
        if not table:
            continue
        where = dest / domain / part
        where.mkdir(parents=True, exist_ok=True)
        combos = sorted(set(zip(table["policy"].tolist(), table["mode"].tolist(), table["positions"].tolist())))
        for policy, mode, positions in combos:
            panel = curves(table, policy, mode, positions, mu=mu)
            ids = tuple(documents(table, policy, mode, positions))
            path = where / _file_name(policy, mode, positions)
            write_csv(replace(panel, samples=ids), path)
            written.append(path)
        pq.write_table(pa.table({k: np.asarray(v) for k, v in table.items()}), where / "measurements.parquet")
        config = read_manifest(folder / "manifest.json")["config"]
        (where / "protocol.json").write_text(json.dumps(config, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if not written:
        raise ValueError(f"no measurements under {results}")
    return written
