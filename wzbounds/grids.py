"""Parsing of value grids given on the command line.

    "1e-3"            one value
    "1e-1,1e-2,5e-3"  a list
    "1e-1:1e-4:13"    13 log-spaced values from 1e-1 to 1e-4 (both ends kept)
    "0:0.25:26"       (linear grids, e.g. distortions) 26 evenly spaced values from 0 to 0.25
    "1:1024"          (whole-number grids only) 1, 2, 4, ..., 1024
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def parse_grid(name: str, spec: str, *, linear: bool = False) -> NDArray[np.float64]:
    """Values of a grid spec; ValueError naming `name` on anything malformed. With `linear`,
    'START:STOP:N' is evenly spaced (and may start at 0) instead of log-spaced."""
    text = spec.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError("expected START:STOP:N")
            start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1:
                raise ValueError("N must be >= 1")
            if linear:
                values = np.linspace(start, stop, n)
            elif start <= 0 or stop <= 0:
                raise ValueError("a log-spaced grid needs START > 0 and STOP > 0")
            else:
                values = np.logspace(np.log10(start), np.log10(stop), n)
            values[0], values[-1] = start, stop
        else:
            values = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(
            f"--{name} {spec!r} is not a grid ({exc}); use a value, a list 'a,b,c' or 'START:STOP:N'"
        ) from None
    if not np.all(np.isfinite(values)):
        raise ValueError(f"--{name} {spec!r} contains a value that is not a finite number")
    return values


def parse_whole_grid(name: str, spec: str) -> NDArray[np.int64]:
    """A grid of whole numbers: log-spaced grids are rounded and de-duplicated, and
    'START:STOP' (two parts) means the powers of two from START to STOP, STOP included."""
    parts = spec.strip().split(":")
    if len(parts) == 2:
        try:
            start, stop = int(parts[0]), int(parts[1])
        except ValueError:
            raise ValueError(f"--{name} {spec!r} is not a grid; 'START:STOP' takes whole numbers") from None
        if not 1 <= start <= stop:
            raise ValueError(f"--{name} {spec!r} needs 1 <= START <= STOP")
        powers = [2**k for k in range(64) if start <= 2**k <= stop]
        return np.array(sorted({start, *powers, stop}), dtype=np.int64)
    values = parse_grid(name, spec)
    if ":" in spec:
        values = np.unique(np.round(values))
    if np.any(values != np.round(values)) or np.any(values < 1):
        raise ValueError(f"--{name} {spec!r} must hold whole numbers >= 1")
    return values.astype(np.int64)
