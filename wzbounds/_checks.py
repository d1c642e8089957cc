"""Input validation shared by every public function.

Each check names the argument and the valid range, so that bad input fails
at the API boundary with a message a user can act on, never as a NaN or a
stack trace from deep inside numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _first_bad(name: str, x: NDArray, bad: NDArray, rule: str) -> ValueError:
    index = np.argwhere(bad)[0]
    where = "" if x.ndim == 0 else f" at index {tuple(int(i) for i in index)}"
    value = (x[tuple(index)] if x.ndim else x[()]).item()
    return ValueError(f"{name} must be {rule}; got {value!r}{where}")


def as_float_array(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """`x` as a float64 array, refusing NaN, non-numeric input and empty arrays."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {x!r}") from exc
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    nan = np.isnan(arr)
    if nan.any():
        raise _first_bad(name, arr, nan, "a number, not NaN")
    return arr


def positive(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """`x` with every entry finite and > 0."""
    arr = as_float_array(name, x)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise _first_bad(name, arr, bad, "finite and > 0")
    return arr


def at_least(name: str, x: ArrayLike, low: float) -> NDArray[np.float64]:
    """`x` with every entry finite and >= low."""
    arr = as_float_array(name, x)
    bad = ~np.isfinite(arr) | (arr < low)
    if bad.any():
        raise _first_bad(name, arr, bad, f"finite and >= {low:g}")
    return arr


def correlation(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """`x` with every entry in the open interval (-1, 1)."""
    arr = as_float_array(name, x)
    bad = (arr <= -1) | (arr >= 1)
    if bad.any():
        raise _first_bad(name, arr, bad, "a correlation in the open interval (-1, 1)")
    return arr


def in_open_unit(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """`x` with every entry in the open interval (0, 1)."""
    arr = as_float_array(name, x)
    bad = (arr <= 0) | (arr >= 1)
    if bad.any():
        raise _first_bad(name, arr, bad, "in the open interval (0, 1)")
    return arr


def in_unit_half_open(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """`x` with every entry in (0, 1]."""
    arr = as_float_array(name, x)
    bad = (arr <= 0) | (arr > 1)
    if bad.any():
        raise _first_bad(name, arr, bad, "in (0, 1]")
    return arr


def whole_at_least(name: str, x: ArrayLike, low: int) -> NDArray[np.float64]:
    """`x` with every entry a whole number >= low, kept in float64 (exact to 2^53,
    and windows far beyond int64 stay representable)."""
    arr = at_least(name, x, low)
    bad = arr != np.floor(arr)
    if bad.any():
        raise _first_bad(name, arr, bad, "a whole number")
    return arr


def distribution(name: str, p: ArrayLike, atol: float = 1e-6) -> NDArray[np.float64]:
    """`p` as probability vectors along its last axis.

    Entries must be finite and >= 0 and each vector must sum to 1 within
    `atol`. Vectors whose sum is off by more than 1e-12 are renormalised; closer
    ones are kept as given, since dividing by 1 +- 1 ulp would move every entry
    by an ulp and swamp divergences between nearly equal laws.
    """
    arr = as_float_array(name, p)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a last axis of symbols; got a scalar")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise _first_bad(name, arr, bad, "finite and >= 0 (a probability)")
    total = arr.sum(axis=-1)
    off = np.abs(total - 1.0) > atol
    if off.any():
        raise _first_bad(f"{name} (sum over the last axis)", total, off, f"1 within {atol:g}")
    return np.where(np.abs(total - 1.0)[..., None] > 1e-12, arr / total[..., None], arr)


def same_support(name_p: str, p: NDArray, name_q: str, q: NDArray) -> tuple[NDArray, NDArray]:
    """Broadcast two batches of distributions that share one alphabet."""
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"{name_p} and {name_q} must share the alphabet size on the last axis; "
            f"got {p.shape[-1]} and {q.shape[-1]}"
        )
    try:
        return np.broadcast_arrays(p, q)
    except ValueError as exc:
        raise ValueError(
            f"{name_p} and {name_q} have shapes {p.shape} and {q.shape} that do not broadcast"
        ) from exc


def broadcast(**arrays: NDArray) -> list[NDArray]:
    """Broadcast named arrays, naming them if their shapes do not fit."""
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from exc
