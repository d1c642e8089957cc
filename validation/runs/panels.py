"""Every measured curve of a results folder, as per-document panels others can read without torch.

`export_panels(RESULTS, DEST)` writes, for each domain and part of a validate /
arena output (or a single measure folder):

    DEST/<domain>/<part>/<policy>_<mode>_<positions>.csv   check's format: sample,window,tv,kl
                                                            (one sample per document, doc@start;
                                                            kl = KL_mu at `mu`, noted in the header,
                                                            and the policy's bytes and saturated
                                                            budgets: validation.runs.costs)
    DEST/<domain>/<part>/measurements.parquet               the store's table, one row per target
    DEST/<domain>/<part>/protocol.json                      the configuration it was measured under

The committed panels under docs/panels/ were written this way; the claims'
calibration (`wzbounds.claims.calibration`) resamples them.
"""

from __future__ import annotations

import json
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

    from validation.runs.costs import Costs
    from validation.runs.store import ResultStore
    from wzbounds.curves import write_csv

    results, dest = Path(results), Path(dest)
    if not results.is_dir():
        raise ValueError(f"results folder {results} does not exist")
    written = []
    for domain, part, folder in measurement_folders(results):
        store = ResultStore.open(folder)
        table, costs = store.table(), Costs.recorded(store.config)
        if not table:
            continue
        where = dest / domain / part
        where.mkdir(parents=True, exist_ok=True)
        combos = sorted(set(zip(table["policy"].tolist(), table["mode"].tolist(), table["positions"].tolist())))
        for policy, mode, positions in combos:
            path = where / _file_name(policy, mode, positions)
            write_csv(costs.curves(table, policy, mode, positions, mu=mu), path)
            written.append(path)
        pq.write_table(pa.table({k: np.asarray(v) for k, v in table.items()}), where / "measurements.parquet")
        (where / "protocol.json").write_text(json.dumps(store.config, indent=1, sort_keys=True) + "\n",
                                             encoding="utf-8")
    if not written:
        raise ValueError(f"no measurements under {results}")
    return written


def export_curve(results: str | Path, out: str | Path, policy: str, mode: str = "recompute",
                 positions: str = "preserved", domain: str | None = None, part: str | None = None,
                 mu: float = 0.1) -> str:
    """Write one (policy, mode, positions) curve under `results` to the CSV file `out` (check's
    format, with the policy's bytes and saturated budgets when the folder records the model's KV
    geometry); without `domain`, `results` must hold one domain; with `part`, that part's only.
    Returns what was written, in one line."""
    from validation.runs.costs import Costs
    from validation.runs.store import ResultStore
    from wzbounds.curves import write_csv

    results = Path(results)
    if not results.is_dir():
        raise ValueError(f"results folder {results} does not exist")
    found = measurement_folders(results, domain)
    domains = sorted({d for d, _, _ in found})
    if len(domains) > 1:
        raise ValueError(f"{results} holds the domains {', '.join(domains)}: choose one with --domain")
    if part is not None:
        if part not in {p for _, p, _ in found}:
            raise ValueError(f"{results} has no part {part!r}; it has {', '.join(sorted({p for _, p, _ in found}))}")
        found = [f for f in found if f[1] == part]
    measured, hits = [], []
    for _, name, folder in found:
        store = ResultStore.open(folder)
        table = store.table()
        if not table:
            continue
        sel = (table["policy"] == policy) & (table["mode"] == mode) & (table["positions"] == positions)
        if sel.any():
            hits.append((name, folder, table, Costs.recorded(store.config)))
        measured += sorted({f"{p} ({m}, {q})" for p, m, q in zip(table["policy"], table["mode"], table["positions"])})
    if len(hits) > 1:
        raise ValueError(f"{policy} in {mode} mode is measured in the parts {', '.join(h[0] for h in hits)} "
                         "of this folder (different budgets): choose one with --part")
    if not hits:
        raise ValueError(f"no measurements of {policy} in {mode} mode ({positions}) under {results}; "
                         f"measured: {', '.join(sorted(set(measured))) or 'nothing'}")
    _, folder, table, costs = hits[0]
    panel = costs.curves(table, policy, mode, positions, mu=mu)
    write_csv(panel, out)
    why = costs.unknown(policy)
    memory = "bytes per budget" if why is None else \
        f"no bytes ({why}; compare counts tokens, so only against curves without bytes too)"
    return (f"{panel.n_samples} samples x {panel.windows.size} budgets of {policy} ({mode}, {positions}), "
            f"{memory}, from {folder} -> {out}")
