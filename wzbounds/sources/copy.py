"""The power-law copy source: a counterexample to exponent doubling.

Over V symbols: with probability 1 - lam draw a fresh uniform symbol, else
copy the symbol l steps back, l ~ pi_l = l^-(1+alpha) / zeta(1+alpha).
A lag reaching before the start of the path draws a fresh symbol, so given
the last T tokens the next-token law is exactly

    p(x) = (1 - lam)/V + lam [ sum_{l <= T} pi_l 1{X_{T+1-l} = x} + Pi_{>T} / V ],

and the window-w law p^(w) is the same with T replaced by w (the lag mass
beyond the window spread uniformly). Their TV is exact per step:

    TV(p, p^(w)) = lam sum_x (m_x - M/V)_+,

m_x the lag mass at w < l <= T on symbol x, M the total. For large V and
w << alpha V, delta(w) ~ lam (w + 1/2)^-alpha / (alpha zeta(1+alpha)).
TV is nearly deterministic (REG with R ~ 1), yet KL_mu has no single
exponent: about w^-alpha log w while w^(1+alpha) << V, about w^-(1+2 alpha)
beyond, because the gap sits on symbols the reference gives mass ~1/V.
The window law is not the Bayes predictor, so Delta is not available.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from wzbounds._checks import in_open_unit, positive, whole_at_least
from wzbounds.curves import Curves
from wzbounds.sources._base import ContextSource, Truth


class PowerLawCopy(ContextSource):
    """Copy source over V symbols with copy probability lam and lag exponent alpha;
    the 'full past' is the last `context` tokens."""

    name = "copy"

    def __init__(self, V: int = 50000, lam: float = 0.5, alpha: float = 0.5, context: int = 4096) -> None:
        self.V = int(whole_at_least("V", V, 2))
        self.lam = float(in_open_unit("lam", lam))
        self.alpha = float(positive("alpha", alpha))
        self.context = int(whole_at_least("context", context, 2))

    @property
    def parameters(self) -> dict[str, float]:
        return {"V": self.V, "lam": self.lam, "alpha": self.alpha, "context": self.context}

    @property
    def truth(self) -> Truth:
        return Truth(
            "power", alpha_tv=self.alpha,
            constants={"C": self.lam / (self.alpha * special.zeta(1 + self.alpha))},
            notes="TV exponent alpha while w << alpha V (steeper, towards alpha + 1/2, near w ~ alpha V); "
                  "REG with R ~ 1; KL_mu has no single exponent (not 2 alpha); Delta not available",
        )

    def lag_masses(self, n: int) -> NDArray[np.float64]:
        """pi_1..pi_n."""
        l = np.arange(1, n + 1, dtype=np.float64)
        return l ** -(1 + self.alpha) / special.zeta(1 + self.alpha)

    def tail_mass(self, w: ArrayLike) -> NDArray[np.float64]:
        """Pi_{>w} = zeta(1 + alpha, w + 1) / zeta(1 + alpha)."""
        return special.zeta(1 + self.alpha, np.asarray(w, dtype=np.float64) + 1) / special.zeta(1 + self.alpha)

    def asymptote(self, w: ArrayLike) -> NDArray[np.float64]:
        """lam (w + 1/2)^-alpha / (alpha zeta(1 + alpha)): delta(w) for V -> infinity."""
        return self.lam * (np.asarray(w, dtype=np.float64) + 0.5) ** -self.alpha / (
            self.alpha * special.zeta(1 + self.alpha)
        )

    def sample_path(self, n: int, rng: np.random.Generator, *, paths: int = 1) -> NDArray:
        n = int(whole_at_least("n", n, 1))
        paths = int(whole_at_least("paths", paths, 1))
        x = rng.integers(0, self.V, size=(paths, n))  # the fresh draws
        copy = rng.random((paths, n)) < self.lam
        lag = rng.zipf(1 + self.alpha, size=(paths, n))
        rows = np.arange(paths)
        for t in range(1, n):
            take = copy[:, t] & (lag[:, t] <= t)
            x[take, t] = x[rows[take], t - lag[take, t]]
        return x

    def sample_curves(self, windows: ArrayLike, n: int, rng: np.random.Generator, mu: float = 0.1) -> Curves:
        """Exact per-sample TV and KL_mu at the end of n independent paths of `context` tokens."""
        w, mu, paths = self._paths(windows, n, rng, mu)
        tv = np.empty((paths.shape[0], w.size))
        kl = np.empty_like(tv)
        pi = self.lag_masses(self.context)
        tail_w, tail_T = self.tail_mass(w), float(self.tail_mass(self.context))
        for i, path in enumerate(paths):
            tv[i], kl[i] = self._one(path[::-1], pi, w, tail_w, tail_T, mu)
        return Curves(w, tv, kl=kl, mu=mu)

    def _one(self, by_lag: NDArray, pi: NDArray, w: NDArray, tail_w: NDArray, tail_T: float, mu: float):
        """TV and KL_mu for one path (symbols ordered by lag 1, 2, ..., T)."""
        V, lam = self.V, self.lam
        support, idx = np.unique(by_lag, return_inverse=True)
        h_full = np.bincount(idx, weights=pi, minlength=support.size)
        cuts = w.astype(np.int64)
        seg = np.concatenate([[0], cuts])
        h_w = np.cumsum(
            [np.bincount(idx[a:b], weights=pi[a:b], minlength=support.size) for a, b in zip(seg[:-1], seg[1:])],
            axis=0,
        )  # (W, S): lag mass within each window, by symbol
        base = (1 - lam) / V
        p = base + lam * (h_full + tail_T / V)  # (S,)
        q = base + lam * (h_w + tail_w[:, None] / V)  # (W, S)
        M = tail_w - tail_T
        tv = lam * np.clip((h_full - h_w) - M[:, None] / V, 0.0, None).sum(axis=1)
        ps, qs = (1 - mu) * p + mu / V, (1 - mu) * q + mu / V
        off_p = (1 - mu) * (base + lam * tail_T / V) + mu / V
        off_q = (1 - mu) * (base + lam * tail_w / V) + mu / V
        kl = special.kl_div(ps[None], qs).sum(axis=1) + (V - support.size) * special.kl_div(off_p, off_q)
        return tv, np.maximum(kl, 0.0)
