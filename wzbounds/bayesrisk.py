"""The Bayes risk of suffix-only prediction on a finite joint law.

The far past Z (what a window of w tokens forgets) and the suffix S (what it
keeps) have a joint law pi(z, s); the model's next-token law given both is
p(. | z, s). A suffix-only predictor is any q(. | s). The best one under log
loss is the posterior mean

    pbar(. | s) = E[p | S = s] = sum_z pi(z | s) p(. | z, s),

and for every S-measurable q the Pythagorean identity holds:

    E KL(p || q) = E KL(p || pbar) + E KL(pbar || q)         (nats)

so Delta = E KL(p || pbar) is the converse under KL. Under TV no closed form
is needed: E TV(p, q) >= E TV(p, pbar) / 2 = Delta_TV / 2 for every q, by the
triangle inequality and Jensen. These are exact finite computations, used to
check the converse and as ground truth for synthetic sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from wzbounds._checks import distribution
from wzbounds.divergences import kl, smoothed_kl, tv


def _expect(weights: NDArray[np.float64], values: NDArray[np.float64]) -> float:
    """sum weights * values, null events (weight 0) contributing 0 even where values = inf."""
    with np.errstate(invalid="ignore"):
        return float(np.sum(np.where(weights > 0, weights * values, 0.0)))


@dataclass(frozen=True)
class SuffixPrediction:
    """A finite suffix-prediction problem.

    weights: pi(z, s), shape (nZ, nS), a joint law (sums to 1).
    laws:    p(x | z, s), shape (nZ, nS, V), a law over x for every (z, s).
    """

    weights: NDArray[np.float64]
    laws: NDArray[np.float64]

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"weights must have shape (nZ, nS); got {w.shape}")
        w = distribution("weights", w.ravel()).reshape(w.shape)
        p = distribution("laws", self.laws)
        if p.shape[:2] != w.shape or p.ndim != 3:
            raise ValueError(f"laws must have shape {w.shape + ('V',)}; got {p.shape}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "laws", p)

    @property
    def suffix_marginal(self) -> NDArray[np.float64]:
        """pi(s) = sum_z pi(z, s)."""
        return self.weights.sum(axis=0)

    def bayes_predictor(self) -> NDArray[np.float64]:
        """pbar(. | s) = sum_z pi(z | s) p(. | z, s), shape (nS, V); uniform where pi(s) = 0."""
        ps = self.suffix_marginal
        seen = ps > 0
        posterior = self.weights / np.where(seen, ps, 1.0)  # pi(z | s), formed before mixing
        pbar = np.einsum("zs,zsx->sx", posterior, self.laws)
        return np.where(seen[:, None], pbar, 1.0 / self.laws.shape[-1])

    def _q(self, q: ArrayLike) -> NDArray[np.float64]:
        q = distribution("q", q)
        want = (self.weights.shape[1], self.laws.shape[-1])
        if q.shape != want:
            raise ValueError(f"q must be a suffix-only predictor of shape {want}; got {q.shape}")
        return q

    def risk_kl(self, q: ArrayLike) -> float:
        """E KL(p(.|Z,S) || q(.|S)) in nats."""
        return _expect(self.weights, kl(self.laws, self._q(q)[None]))

    def risk_tv(self, q: ArrayLike) -> float:
        """E TV(p(.|Z,S), q(.|S))."""
        return _expect(self.weights, tv(self.laws, self._q(q)[None]))

    def bayes_risk_kl(self) -> float:
        """Delta = E KL(p || pbar) = min over suffix-only q of E KL(p || q), in nats."""
        return self.risk_kl(self.bayes_predictor())

    def bayes_risk_tv(self) -> float:
        """Delta_TV = E TV(p, pbar); every suffix-only q has E TV(p, q) >= Delta_TV / 2."""
        return self.risk_tv(self.bayes_predictor())

    def risk_kl_mu(self, q: ArrayLike, mu: float) -> float:
        """E KL_mu(p(.|Z,S), q(.|S)) in nats, both sides smoothed by mu."""
        return _expect(self.weights, smoothed_kl(self.laws, self._q(q)[None], mu))

    def bayes_risk_kl_mu(self, mu: float) -> float:
        """Delta_mu = E KL_mu(p, pbar) = min over suffix-only q of E KL_mu(p, q), in nats.

        The minimiser is still pbar: E[p^mu | S] = pbar^mu, and the Pythagorean identity
        holds for the smoothed laws. Delta_mu <= Delta (smoothing is a Markov kernel),
        so a lower law on Delta gives none on Delta_mu.
        """
        return self.risk_kl_mu(self.bayes_predictor(), mu)

    def excess_kl(self, q: ArrayLike) -> float:
        """E KL(pbar || q) under pi(s): the excess over the Bayes risk, in nats."""
        return _expect(self.suffix_marginal, kl(self.bayes_predictor(), self._q(q)))


def far_symbol(t: float, n_far: int = 5) -> SuffixPrediction:
    """The far past picks one of `n_far` symbols Z (uniformly) and puts mass t on it; the rest,
    1 - t, is on symbol 0; the suffix shows nothing (V = n_far + 1).

        p = (1 - t) delta_0 + t delta_Z,   pbar = (1 - t) delta_0 + (t / n_far) on each of 1..n_far
        Delta = t log(n_far),   Delta_TV = t (1 - 1/n_far),
        Delta_mu ~ (1-mu)^2 (1 - 1/n_far) V / (2 mu) t^2  as t -> 0.

    With t = w^-1/2 the unsmoothed gap obeys BR with beta = 1/2 while Delta_mu ~ 1/w:
    the counterexample to taking a KL_mu converse from Delta.
    """
    if not 0 < t <= 1:
        raise ValueError(f"t must be in (0, 1]; got {t!r}")
    if int(n_far) != n_far or n_far < 2:
        raise ValueError(f"n_far must be a whole number >= 2; got {n_far!r}")
    n_far = int(n_far)
    laws = np.zeros((n_far, 1, n_far + 1))
    laws[:, 0, 0] = 1 - t
    laws[np.arange(n_far), 0, np.arange(1, n_far + 1)] += t
    return SuffixPrediction(np.full((n_far, 1), 1.0 / n_far), laws)
