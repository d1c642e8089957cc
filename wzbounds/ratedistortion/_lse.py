"""log-sum-exp without scipy's per-call overhead (the solvers call it millions of times on tiny arrays)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def logsumexp(a: NDArray[np.float64], axis: int | None = None, keepdims: bool = False) -> NDArray[np.float64]:
    """log sum exp(a) along `axis`, stable (shifted by the finite maximum); -inf where all are -inf."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()))
