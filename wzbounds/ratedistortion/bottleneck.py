"""The information bottleneck under log loss with side information at the decoder.

The encoder sees the past S, the decoder sees the query Q, and the target is
the next token X, with (S, Q, X) ~ p(s, q, x). A description U of the past
(U - S - (Q, X)) costs I(S; U | Q) nats (Wyner-Ziv: Q is known at the
decoder); its excess log loss over knowing the whole past is

    eps = H(X | U, Q) - H(X | S, Q) = I(X; S | U, Q)     (nats),

so the sequential Wyner-Ziv rate under log loss is R(eps) = min I(S; U | Q)
subject to that excess <= eps. For a slope beta > 0 the Lagrangian
I(S; U | Q) + beta H(X | U, Q) is decreased by alternating

    r(u | q)     = sum_s p(s | q) p(u | s)
    post(x | u,q) = sum_s p(s, q, x) p(u | s) / sum_s p(s, q) p(u | s)
    p(u | s)     ∝ exp( sum_q p(q | s) [ log r(u | q) + beta sum_x p(x | s, q) log post(x | u, q) ] ).

The problem is not convex (as for every bottleneck): the iteration reaches a
stationary point. It is started from the two corners every bottleneck has,
U = S (the identity encoder: rate I(S; S | Q), no excess) and U constant
(no rate, excess I(X; S | Q)), and from `restarts` seeded random encoders;
the best Lagrangian wins, so the result is never worse than either corner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from wzbounds._checks import as_float_array, distribution


@dataclass(frozen=True)
class IBPoint:
    """A point (eps, R) at slope beta: excess log loss and rate (nats), and the encoder p(u | s)."""

    beta: float
    excess: float
    rate: float
    encoder: NDArray[np.float64]


def _entropy_terms(p: NDArray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(np.where(p > 0, p * np.log(p), 0.0)))


def side_info_bottleneck(
    psqx: ArrayLike, beta: float, n_u: int | None = None, *, restarts: int = 4, seed: int = 0,
    tol: float = 1e-12, max_iter: int = 20_000,
) -> IBPoint:
    """The bottleneck point at slope beta > 0 for a joint law p(s, q, x) (a 3-D array)."""
    p = as_float_array("psqx", psqx)
    if p.ndim != 3:
        raise ValueError(f"psqx must be a 3-D joint law p(s, q, x); got shape {p.shape}")
    p = distribution("psqx", p.ravel()).reshape(p.shape)
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be finite and > 0; got {beta!r}")
    ns = p.shape[0]
    n_u = n_u or ns + 1
    psq = p.sum(axis=2)
    ps = psq.sum(axis=1)
    pq_s = np.where(ps[:, None] > 0, psq / np.where(ps > 0, ps, 1)[:, None], 0.0)
    px_sq = np.where(psq[..., None] > 0, p / np.where(psq > 0, psq, 1)[..., None], 0.0)
    pq = psq.sum(axis=0)
    ps_q = np.where(pq[None, :] > 0, psq / np.where(pq > 0, pq, 1)[None, :], 0.0)
    h_x_sq = _entropy_terms(p) - _entropy_terms(psq)  # H(X | S, Q)
    if n_u < 1:
        raise ValueError(f"n_u must be >= 1; got {n_u}")
    best = None
    rng = np.random.default_rng(seed)
    identity = np.eye(ns, n_u) if n_u >= ns else None
    constant = np.eye(1, n_u).repeat(ns, axis=0)
    starts = [s for s in (identity, constant) if s is not None]
    starts += [rng.dirichlet(np.ones(n_u), size=ns) for _ in range(restarts)]
    for enc in starts:
        previous = np.inf
        for _ in range(max_iter):
            r = np.einsum("sq,su->qu", ps_q, enc)
            joint_uqx = np.einsum("sqx,su->uqx", p, enc)
            post = joint_uqx / np.maximum(joint_uqx.sum(axis=2, keepdims=True), 1e-300)
            logpost = np.log(np.maximum(post, 1e-300))
            score = np.einsum("sq,qu->su", pq_s, np.log(np.maximum(r, 1e-300)))
            score += beta * np.einsum("sq,sqx,uqx->su", pq_s, px_sq, logpost)
            enc = np.exp(score - logsumexp(score, axis=1, keepdims=True))
            joint_uq = np.einsum("sq,su->uq", psq, enc)
            joint_uqx = np.einsum("sqx,su->uqx", p, enc)
            r = np.einsum("sq,su->qu", ps_q, enc)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(enc[:, None, :] > 0, np.log(enc[:, None, :]) - np.log(r[None, :, :]), 0.0)
            rate = float(max(np.einsum("sq,su,squ->", psq, enc, ratio), 0.0))
            h_x_uq = _entropy_terms(joint_uqx) - _entropy_terms(joint_uq)
            value = rate + beta * h_x_uq
            if previous - value <= tol:
                break
            previous = value
        point = IBPoint(float(beta), max(h_x_uq - h_x_sq, 0.0), rate, enc)
        if best is None or point.rate + beta * point.excess < best.rate + beta * best.excess:
            best = point
    return best
