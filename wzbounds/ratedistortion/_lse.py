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


def log_matmul_exp(log_a: NDArray[np.float64], log_b: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(exp(log_a) @ exp(log_b)) by one matrix product: rows of a and columns of b are
    shifted by their maxima, and the entries whose shifted sum underflows to 0 (the mass of
    the two factors at different k) are recomputed exactly by log-sum-exp."""
    top_a = np.max(log_a, axis=1, keepdims=True)
    top_a = np.where(np.isfinite(top_a), top_a, 0.0)
    top_b = np.max(log_b, axis=0, keepdims=True)
    top_b = np.where(np.isfinite(top_b), top_b, 0.0)
    product = np.exp(log_a - top_a) @ np.exp(log_b - top_b)
    with np.errstate(divide="ignore"):
        out = np.log(product) + top_a + top_b
    i, j = np.nonzero(product < 1e-280)
    for start in range(0, i.size, 4096):
        rows, cols = i[start:start + 4096], j[start:start + 4096]
        out[rows, cols] = logsumexp(log_a[rows] + log_b[:, cols].T, axis=1)
    return out
