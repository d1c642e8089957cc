"""Hidden Markov sources with exact forward filters: polynomial (renewal) and geometric.

The hidden state is a regime k in 1..K and its age a in 1..A (steps spent in
the regime so far). The dwell time D has the heavy tail P(D >= a) = a^-gamma
(gamma > 1), capped at A: the hazard is h(a) = 1 - (a/(a+1))^gamma, h(A) = 1.
With probability 1 - h(a) the regime ages by one step; otherwise it renews
into k' ~ Q[k, .] at age 1. Regime k emits tokens from B[k, .].

Regime switches far in the past matter through the age, whose tail is
polynomial: this is a renewal chain in the sense of subgeometric ergodicity,
and its truncation sensitivity decays polynomially over windows well below
A (beyond A the cap makes it geometric). With A = 1 and h = 1 the same code
is a plain hidden Markov chain with transition matrix Q: the geometric control.

Exactness: the full-past filter starts at the stationary law of (k, a),
P(k, a) proportional to nu(k) P(D >= a) with nu stationary for Q, before the
first token; the window-w filter starts at the same law before the window.
The window filter's prediction is E[p_t | last w tokens] = pbar^(w), so the
per-sample TV and KL are delta and the Bayes-risk gap Delta at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import distribution, positive, whole_at_least
from wzbounds.curves import Curves
from wzbounds.divergences import kl, smoothed_kl, tv
from wzbounds.sources._base import ContextSource, Truth


def _stationary(Q: NDArray) -> NDArray:
    vals, vecs = np.linalg.eig(Q.T)
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    return v / v.sum()


class RenewalHMM(ContextSource):
    """Regimes with heavy-tailed dwell times (see the module docstring)."""

    name = "renewal-hmm"

    def __init__(
        self,
        emissions: ArrayLike = ((0.97, 0.01, 0.01, 0.01), (0.01, 0.01, 0.01, 0.97)),
        switch: ArrayLike = ((0.0, 1.0), (1.0, 0.0)),
        gamma: float = 1.5,
        max_age: int = 1024,
        context: int = 2048,
    ) -> None:
        self.B = distribution("emissions", emissions)
        self.Q = distribution("switch", switch)
        if self.B.ndim != 2 or self.Q.shape != (self.B.shape[0],) * 2:
            raise ValueError(f"switch must be K x K for K = {self.B.shape[0]} regimes; got {self.Q.shape}")
        self.gamma = float(positive("gamma", gamma))
        self.max_age = int(whole_at_least("max_age", max_age, 1))
        self.context = int(whole_at_least("context", context, 1))
        a = np.arange(1, self.max_age + 1, dtype=np.float64)
        self.survival = a**-self.gamma if self.max_age > 1 else np.ones(1)
        self.hazard = np.append(1.0 - (a[:-1] / a[1:]) ** self.gamma, 1.0)
        prior = _stationary(self.Q)[:, None] * self.survival[None, :]
        self.prior = prior / prior.sum()

    @property
    def parameters(self) -> dict[str, float]:
        return {"K": self.B.shape[0], "V": self.B.shape[1], "gamma": self.gamma, "max_age": self.max_age,
                "context": self.context}

    @property
    def truth(self) -> Truth:
        return Truth("power", notes="polynomial for windows well below max_age and context (exponent not in "
                     "closed form; heuristically about gamma for TV: P(age > w) ~ w^(1-gamma) times a hazard "
                     "error ~ 1/w); FD with K = 1: the window filter is the Bayes predictor")

    def _advance(self, belief: NDArray) -> NDArray:
        """One hidden step for beliefs of shape (n, K, A)."""
        out = np.empty_like(belief)
        stay = belief * (1.0 - self.hazard)
        out[:, :, 1:] = stay[:, :, :-1]
        out[:, :, 0] = (belief * self.hazard).sum(axis=2) @ self.Q
        return out

    def _token_law(self, belief: NDArray) -> NDArray:
        return belief.sum(axis=2) @ self.B

    def _filter(self, tokens: NDArray) -> NDArray:
        """Law of the next token after tokens (n, L), each filter started at the stationary law."""
        return self._token_law(self.filter_state(tokens))

    def filter_state(self, tokens: NDArray) -> NDArray:
        """The predictive law of the hidden state (regime, age) after tokens (n, L), shape (n, K, A):
        the recurrent summary that carries everything the past says about the future."""
        n = tokens.shape[0]
        belief = np.broadcast_to(self.prior, (n, *self.prior.shape)).copy()
        for t in range(tokens.shape[1]):
            belief *= self.B[:, tokens[:, t]].T[:, :, None]
            belief /= belief.sum(axis=(1, 2), keepdims=True)
            belief = self._advance(belief)
        return belief

    def sample_path(self, n: int, rng: np.random.Generator, *, paths: int = 1) -> NDArray:
        n = int(whole_at_least("n", n, 1))
        paths = int(whole_at_least("paths", paths, 1))
        K, A = self.prior.shape
        flat = rng.choice(K * A, size=paths, p=self.prior.ravel())
        k, a = flat // A, flat % A
        x = np.empty((paths, n), dtype=np.int64)
        cum_B = np.cumsum(self.B, axis=1)
        cum_Q = np.cumsum(self.Q, axis=1)
        for t in range(n):
            x[:, t] = (rng.random(paths)[:, None] > cum_B[k]).sum(axis=1)
            renew = rng.random(paths) < self.hazard[a]
            new_k = np.minimum((rng.random(paths)[:, None] > cum_Q[k]).sum(axis=1), K - 1)
            k = np.where(renew, new_k, k)
            a = np.where(renew, 0, np.minimum(a + 1, A - 1))
        x = np.minimum(x, self.B.shape[1] - 1)
        return x

    def sample_curves(self, windows: ArrayLike, n: int, rng: np.random.Generator, mu: float = 0.1) -> Curves:
        """Exact per-sample TV, KL_mu and the Bayes-risk gaps (Delta, Delta_mu, Delta_TV) at the end of
        n paths of `context` tokens."""
        w, mu, x = self._paths(windows, n, rng, mu)
        full = self._filter(x)
        window_laws = np.stack([self._filter(x[:, self.context - int(wi):]) for wi in w], axis=1)
        # the window filter's law is pbar^(w) = E[p | last w tokens], so the sliding window's
        # distortions are the Bayes-risk gaps in each distortion (checked by brute force in the tests)
        t = tv(full[:, None], window_laws)
        kl_mu = smoothed_kl(full[:, None], window_laws, mu)
        return Curves(w, t, kl=kl_mu, mu=mu, bayes_kl=kl(full[:, None], window_laws), bayes_kl_mu=kl_mu, bayes_tv=t)


class MarkovHMM(RenewalHMM):
    """A plain K-state hidden Markov chain with transition matrix Q: the geometric control."""

    name = "markov-hmm"

    def __init__(
        self,
        emissions: ArrayLike = ((0.55, 0.15, 0.15, 0.15), (0.15, 0.15, 0.15, 0.55)),
        transition: ArrayLike = ((0.9, 0.1), (0.1, 0.9)),
        context: int = 1024,
    ) -> None:
        super().__init__(emissions, transition, gamma=1.0, max_age=1, context=context)

    @property
    def parameters(self) -> dict[str, float]:
        return {"K": self.B.shape[0], "V": self.B.shape[1], "context": self.context}

    @property
    def truth(self) -> Truth:
        second = np.sort(np.abs(np.linalg.eigvals(self.Q)))[-2]
        return Truth("geometric", rho_tv=float(second),
                     notes="finite ergodic HMM: the filter forgets geometrically (at most at the chain's "
                           "second eigenvalue modulus)")
