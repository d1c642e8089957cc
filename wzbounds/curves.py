"""Measured curves: per-sample distortions on a grid of windows.

`Curves` is the one container that synthetic sources produce, that users
load from CSV, and that the fitting and assumption checks consume. Every
array is (n_samples, n_windows); rows are samples (documents or prefixes),
which are the units the bootstrap resamples.

    tv           TV(p_t, p_t^(w)) per sample and window          (required)
    kl           KL_mu(p_t, p_t^(w)), smoothing `mu`               (optional, nats)
    bayes_kl     KL(p_t || pbar_t^(w)), the Bayes-risk gap Delta   (optional, nats)
    bayes_kl_mu  KL_mu(p_t, pbar_t^(w)), the smoothed gap Delta_mu (optional, nats)
    bayes_tv     TV(p_t, pbar_t^(w)), the TV gap Delta_TV          (optional)

Two optional annotations describe the policy rather than a sample:

    memory       what the policy stores at each window (bytes, say; one value per window,
                 the same unit for curves that are compared); None: the window itself (tokens)
    saturated    per window, whether the policy's compressed past already covers the whole
                 context there (a summary): more memory then buys precision, not reach, and
                 the curve there is not the policy's scaling; None: never

Each converse needs the gap in its own distortion: Delta for KL, Delta_mu
for KL_mu (Delta_mu <= Delta, so a lower law on Delta says nothing in
KL_mu), Delta_TV for TV.

CSV format (`read_csv` / `write_csv`): a header and one row per
(sample, window): `sample,window,tv[,kl][,bayes_kl][,bayes_kl_mu][,bayes_tv]`;
every sample must have every window; the sample names are kept (`Curves.samples`),
so two files measured on the same documents pair by name. `mu` is given separately (a `# mu=0.1`
comment line, or the `mu` argument) and applies to kl and bayes_kl_mu. The annotations are comment
lines too: `# memory=m1,m2,...` (one value per window, in window order) and `# saturated=w1,w2,...`
(the saturated windows).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import in_open_unit, whole_at_least

OPTIONAL = ("kl", "bayes_kl", "bayes_kl_mu", "bayes_tv")
SMOOTHED = ("kl", "bayes_kl_mu")


def _panel(name: str, values: ArrayLike, shape: tuple[int, int], high: float | None) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape (n_samples, n_windows) = {shape}; got {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0) | ((arr > high) if high is not None else False)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        rule = f"in [0, {high:g}]" if high is not None else "finite and >= 0"
        raise ValueError(f"{name} must be {rule}; got {arr[i, j].item()!r} at sample {i}, window index {j}")
    return arr


@dataclass(frozen=True)
class Curves:
    """Per-sample distortion curves on one window grid (see the module docstring)."""

    windows: NDArray[np.float64]
    tv: NDArray[np.float64]
    kl: NDArray[np.float64] | None = None
    mu: float | None = None
    bayes_kl: NDArray[np.float64] | None = None
    bayes_tv: NDArray[np.float64] | None = None
    bayes_kl_mu: NDArray[np.float64] | None = None
    samples: tuple[str, ...] | None = None  # the samples' ids (documents), for pairing two curve sets
    memory: NDArray[np.float64] | None = None  # per window: what the policy stores (module docstring)
    saturated: NDArray[np.bool_] | None = None  # per window: the compressed past covers the context

    def __post_init__(self) -> None:
        w = whole_at_least("windows", self.windows, 1)
        if w.ndim != 1:
            raise ValueError(f"windows must be one-dimensional; got shape {w.shape}")
        if np.any(np.diff(w) <= 0):
            raise ValueError("windows must be strictly increasing")
        tv = np.asarray(self.tv, dtype=np.float64)
        if tv.ndim != 2 or tv.shape[0] < 1:
            raise ValueError(f"tv must have shape (n_samples, n_windows) with n_samples >= 1; got {tv.shape}")
        shape = (tv.shape[0], w.size)
        object.__setattr__(self, "windows", w)
        object.__setattr__(self, "tv", _panel("tv", tv, shape, 1.0))
        for name in OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _panel(name, value, shape, 1.0 if name == "bayes_tv" else None))
        if self.samples is not None:
            ids = tuple(str(x) for x in self.samples)
            if len(ids) != shape[0] or len(set(ids)) != len(ids):
                raise ValueError(f"samples must name each of the {shape[0]} samples once; got {len(ids)} names, "
                                 f"{len(set(ids))} distinct")
            object.__setattr__(self, "samples", ids)
        if self.memory is not None:
            memory = np.asarray(self.memory, dtype=np.float64)
            if memory.shape != w.shape or not np.all(np.isfinite(memory) & (memory > 0)):
                raise ValueError(f"memory must give a positive, finite value for each of the {w.size} windows; "
                                 f"got shape {memory.shape}")
            object.__setattr__(self, "memory", memory)
        if self.saturated is not None:
            saturated = np.asarray(self.saturated)
            if saturated.shape != w.shape or saturated.dtype != np.bool_:
                raise ValueError(f"saturated must give True or False for each of the {w.size} windows; got "
                                 f"{saturated.dtype} of shape {saturated.shape}")
            object.__setattr__(self, "saturated", saturated)
        smoothed = [n for n in SMOOTHED if getattr(self, n) is not None]
        if smoothed:
            if self.mu is None:
                raise ValueError(f"mu is required with {' and '.join(smoothed)}: they hold the smoothed KL_mu")
            object.__setattr__(self, "mu", float(in_open_unit("mu", self.mu)))

    @property
    def n_samples(self) -> int:
        return self.tv.shape[0]

    def mean(self, name: str = "tv") -> NDArray[np.float64]:
        """The expected curve over samples, e.g. delta(w) = E TV."""
        return self.panel(name).mean(axis=0)

    def panel(self, name: str) -> NDArray[np.float64]:
        """The (n_samples, n_windows) array of curve `name` ("tv", "kl", "bayes_kl", "bayes_kl_mu", "bayes_tv")."""
        value = getattr(self, name, None)
        if name not in ("tv", *OPTIONAL) or value is None:
            raise ValueError(f"curve {name!r} is not available; have {self.available()}")
        return value

    def available(self) -> list[str]:
        return ["tv", *(n for n in OPTIONAL if getattr(self, n) is not None)]

    def subset(self, rows: ArrayLike) -> Curves:
        """The curves of the given samples (rows), e.g. a bootstrap resample."""
        rows = np.asarray(rows)
        pick = {n: getattr(self, n)[rows] for n in OPTIONAL if getattr(self, n) is not None}
        ids = None if self.samples is None or len(set(rows.tolist())) != rows.size else \
            tuple(self.samples[i] for i in rows.tolist())
        return Curves(self.windows, self.tv[rows], mu=self.mu, samples=ids, memory=self.memory,
                      saturated=self.saturated, **pick)


def write_csv(curves: Curves, path: str | Path) -> None:
    """Write the tidy CSV format (one row per sample and window)."""
    names = curves.available()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if curves.mu is not None:
            fh.write(f"# mu={curves.mu!r}\n")
        if curves.memory is not None:
            fh.write(f"# memory={','.join(repr(float(m)) for m in curves.memory)}\n")
        if curves.saturated is not None and curves.saturated.any():
            fh.write(f"# saturated={','.join(str(int(w)) for w in curves.windows[curves.saturated])}\n")
        out = csv.writer(fh)
        out.writerow(["sample", "window", *names])
        ids = curves.samples or tuple(str(i) for i in range(curves.n_samples))
        for i in range(curves.n_samples):
            for j, w in enumerate(curves.windows):
                out.writerow([ids[i], int(w), *(repr(float(getattr(curves, n)[i, j])) for n in names)])


def read_csv(path: str | Path, mu: float | None = None) -> Curves:
    """Read curves from the tidy CSV format; errors name the line and column."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"curves file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"curves file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    notes: dict[str, list[float]] = {}
    for line in lines:
        key = next((k for k in ("mu", "memory", "saturated") if line.startswith(f"# {k}=")), None)
        if key is None or (key == "mu" and mu is not None):
            continue
        try:
            notes[key] = [float(v) for v in line[len(key) + 3:].split(",")]
        except ValueError:
            raise ValueError(f"{path}: cannot read {key} from {line!r}") from None
    if "mu" in notes:
        if len(notes["mu"]) != 1:
            raise ValueError(f"{path}: the mu line must give one value; got {len(notes['mu'])}")
        mu = notes["mu"][0]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    if len(body) < 2:
        raise ValueError(f"{path}: no data rows (need a header 'sample,window,tv,...' and at least one row)")
    reader = csv.reader(io.StringIO("\n".join(body)))
    header = [h.strip() for h in next(reader)]
    unknown = [h for h in header if h not in ("sample", "window", "tv", *OPTIONAL)]
    missing = [h for h in ("sample", "window", "tv") if h not in header]
    if missing or unknown or len(set(header)) != len(header):
        raise ValueError(
            f"{path}: header must be sample,window,tv with optional {','.join(OPTIONAL)}; "
            f"got {','.join(header)}" + (f" (missing {', '.join(missing)})" if missing else "")
        )
    rows: dict[str, dict[float, dict[str, float]]] = {}
    for lineno, row in enumerate(reader, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {lineno} has {len(row)} fields, expected {len(header)}")
        record = dict(zip(header, (c.strip() for c in row)))
        try:
            window = float(record["window"])
            values = {n: float(record[n]) for n in header if n not in ("sample", "window")}
        except ValueError:
            raise ValueError(f"{path}: line {lineno} has a non-numeric value: {row}") from None
        sample = rows.setdefault(record["sample"], {})
        if window in sample:
            raise ValueError(f"{path}: line {lineno} repeats window {window:g} of sample {record['sample']!r}")
        sample[window] = values
    windows = sorted({w for s in rows.values() for w in s})
    for name, s in rows.items():
        if sorted(s) != windows:
            lacking = sorted(set(windows) - set(s))
            raise ValueError(f"{path}: sample {name!r} lacks windows {lacking[:5]}: every sample needs every window")
    ordered = list(rows.values())
    panel = {n: np.array([[s[w][n] for w in windows] for s in ordered]) for n in header if n not in ("sample", "window")}
    memory = notes.get("memory")
    if memory is not None and len(memory) != len(windows):
        raise ValueError(f"{path}: the memory line gives {len(memory)} values for {len(windows)} windows")
    saturated = None
    if "saturated" in notes:
        unknown = sorted(set(notes["saturated"]) - set(windows))
        if unknown:
            raise ValueError(f"{path}: the saturated line names windows that are not measured: {unknown[:5]}")
        saturated = np.isin(windows, notes["saturated"])
    return Curves(np.array(windows), mu=mu, samples=tuple(rows), memory=memory, saturated=saturated, **panel)
