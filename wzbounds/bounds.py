"""Achievability, converse and the Theta band for suffix-only cache policies.

A `WindowBound` pairs two power laws in one distortion (TV, or KL_mu):

    achievability  the sliding window of w tokens has  D(w) <= A w^-a
    converse       every suffix-only policy of window w has  D(w) >= B w^-b

so the smallest window w*(eps) reaching distortion eps lies in the band

    (B / eps)^(1/b)  <=  w*(eps)  <=  ceil((A / eps)^(1/a)).

With a = b the band is Theta(eps^(-1/a)) with explicit constants. The
constructors below build the pair from the paper's hypotheses (PTS, REG,
BR); `exponents` does the bookkeeping of which hypotheses make the two
exponents meet. Windows are in tokens, TV is unitless, KL_mu is in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import at_least, broadcast, in_unit_half_open, positive
from wzbounds.divergences import reverse_pinsker_constant
from wzbounds.laws import PowerLaw, power_window

DISTORTIONS = ("tv", "kl_mu")


@dataclass(frozen=True)
class ThetaBand:
    """The window band [lower, upper] for each target eps (tokens).

    `lower` is the converse: no suffix-only policy with a window below it
    reaches eps (real-valued). `upper` is the achievability: the sliding window
    of that many tokens reaches eps (whole tokens). `ratio` = upper / lower.
    """

    eps: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]

    @property
    def ratio(self) -> NDArray[np.float64]:
        return self.upper / self.lower


@dataclass(frozen=True)
class WindowBound:
    """Achievability (an upper law) and converse (a lower law) in one distortion.

    `distortion` is "tv" or "kl_mu"; `converse` is None when no lower
    hypothesis (BR) is assumed, in which case only achievability is known.
    """

    distortion: str
    achievability: PowerLaw
    converse: PowerLaw | None = None

    def __post_init__(self) -> None:
        if self.distortion not in DISTORTIONS:
            raise ValueError(f"distortion must be one of {DISTORTIONS}; got {self.distortion!r}")
        lo, up = self.converse, self.achievability
        if lo is None:
            return
        if lo.alpha < up.alpha:
            raise ValueError(
                f"converse exponent {lo.alpha:g} < achievability exponent {up.alpha:g}: "
                "a lower law decaying slower than an upper law contradicts it at large windows"
            )
        w = max(lo.w0, up.w0)
        if lo(w) > up(w) * (1 + 1e-12):
            raise ValueError(
                f"converse {lo.C:g} w^-{lo.alpha:g} exceeds achievability "
                f"{up.C:g} w^-{up.alpha:g} at w = {w:g}: the constants contradict each other"
            )

    def _eps(self, eps: ArrayLike) -> NDArray[np.float64]:
        """Targets: in (0, 1] for TV, > 0 for KL_mu (nats)."""
        return in_unit_half_open("eps", eps) if self.distortion == "tv" else positive("eps", eps)

    def achievable_window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """Whole sliding window reaching eps: max(w0, ceil((A / eps)^(1/a))) tokens."""
        return self.achievability.window(self._eps(eps))

    def converse_window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """(B / eps)^(1/b) tokens: every suffix-only window below it has D > eps."""
        if self.converse is None:
            raise ValueError("this bound has no converse: give the Bayes-risk constants (c_B, beta)")
        return self.converse.real_window(self._eps(eps))

    def band(self, eps: ArrayLike) -> ThetaBand:
        """The Theta band [converse_window, achievable_window] on a grid of eps."""
        eps = self._eps(eps)
        return ThetaBand(eps=eps, lower=self.converse_window(eps), upper=self.achievable_window(eps))

    def distortion_at(self, window: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """(upper, lower) distortion at a window: what the sliding window is guaranteed,
        and what no suffix-only policy can beat (None without a converse)."""
        window = at_least("window", window, 1.0)
        lower = None if self.converse is None else self.converse(window)
        return self.achievability(window), lower


def sliding_window_tv(
    C: float, alpha: float, *, c_B: float | None = None, beta: float | None = None, w0: float = 1.0
) -> WindowBound:
    """The TV bound from PTS, delta(w) <= C w^-alpha, and BR in TV.

    Achievability: E TV(p_t, p_t^(w)) = delta(w) <= C w^-alpha.
    Converse: if Delta_TV(w) >= c_B w^-beta (beta defaults to alpha), every
    suffix-only policy has E TV >= Delta_TV(w) / 2 >= (c_B / 2) w^-beta.
    """
    upper = PowerLaw(C, alpha, w0)
    if c_B is None:
        return WindowBound("tv", upper)
    lower = PowerLaw(float(positive("c_B", c_B)) / 2, alpha if beta is None else beta, w0)
    return WindowBound("tv", upper, lower)


def kl_mu_constant(C: float, V: int, mu: float, R: float | None) -> float:
    """The constant K of kappa_mu(w) <= K w^-a implied by delta(w) <= C w^-alpha.

    With REG (E TV^2 <= R (E TV)^2): K = K(V, mu) R C^2 and a = 2 alpha.
    Without it (E TV^2 <= E TV): K = K(V, mu) C and a = alpha.
    K(V, mu) is `reverse_pinsker_constant`.
    """
    K = float(reverse_pinsker_constant(V, mu))
    C = float(positive("C", C))
    if R is None:
        return K * C
    return K * float(at_least("R", R, 1.0)) * C**2


def sliding_window_kl(
    C: float,
    alpha: float,
    *,
    V: int,
    mu: float,
    R: float | None = None,
    c_B: float | None = None,
    beta: float | None = None,
    w0: float = 1.0,
) -> WindowBound:
    """The KL_mu bound from PTS in TV, the sandwich, optionally REG and BR.

    Achievability: kappa_mu(w) <= K(V,mu) R C^2 w^-2alpha under REG with
    constant R, else kappa_mu(w) <= K(V,mu) C w^-alpha.
    Converse: the smoothed Bayes-risk gap Delta_mu(w) = E KL(p^mu || pbar^mu)
    bounds every suffix-only policy from below; under BR,
    Delta_mu(w) >= c_B w^-beta.
    """
    a = float(positive("alpha", alpha))
    upper = PowerLaw(kl_mu_constant(C, V, mu, R), a if R is None else 2 * a, w0)
    if c_B is None:
        return WindowBound("kl_mu", upper)
    if beta is None:
        raise ValueError("beta is required with c_B: the Bayes-risk gap is c_B w^-beta")
    return WindowBound("kl_mu", upper, PowerLaw(c_B, beta, w0))


@dataclass(frozen=True)
class ExponentTable:
    """Which exponents the hypotheses give, for the distortion D(w) ~ w^-exponent.

    A window for distortion eps scales as eps^(-1/exponent). `converse_*` is
    None when no hypothesis bounds the distortion from below. `gap_factor_kl`
    = converse_kl / achievable_kl (1 when matched; 2 is the factor-of-two gap).
    """

    alpha: float
    reg: bool
    fd: bool
    beta: float | None
    achievable_tv: float
    converse_tv: float | None
    achievable_kl: float
    converse_kl: float | None
    matched_kl: bool
    gap_factor_kl: float | None
    reason: str


def exponents(alpha: float, *, reg: bool, fd: bool, beta: float | None = None) -> ExponentTable:
    """Exponent bookkeeping under two-sided PTS with exponent alpha (TV).

    - TV achievability: alpha. KL_mu achievability: 2 alpha under REG, alpha without.
    - FD (delta <= K Delta_TV) with the lower half of PTS gives Delta_TV >= (c/K) w^-alpha,
      so TV converse alpha, and by Pinsker + Jensen a KL converse with exponent 2 alpha.
    - BR with exponent beta gives a KL converse beta; with both, the stronger
      (slower) lower law, min(beta, 2 alpha), is the converse.
    Matched iff converse == achievable: FD and REG together make them meet.
    """
    a = float(positive("alpha", alpha))
    b = None if beta is None else float(positive("beta", beta))
    achievable_kl = 2 * a if reg else a
    candidates = [e for e in (b, 2 * a if fd else None) if e is not None]
    converse_kl = min(candidates) if candidates else None
    if converse_kl is not None and converse_kl < achievable_kl * (1 - 1e-12):
        raise ValueError(
            f"beta={converse_kl:g} is below the achievable KL exponent {achievable_kl:g}: "
            "a lower bound cannot decay slower than an upper bound on the same curve"
        )
    matched = converse_kl is not None and bool(np.isclose(converse_kl, achievable_kl))
    gap = None if converse_kl is None else converse_kl / achievable_kl
    if matched:
        reason = "achievability and converse meet: Theta(eps^(-1/%g)) in KL_mu" % achievable_kl
    elif converse_kl is None:
        reason = "no converse: assume FD or give the Bayes-risk exponent beta"
    elif not reg:
        reason = "without REG, achievability only reaches exponent alpha: a factor-of-two gap"
    else:
        reason = f"converse exponent {converse_kl:g} exceeds achievable {achievable_kl:g}"
    return ExponentTable(
        alpha=a,
        reg=reg,
        fd=fd,
        beta=b,
        achievable_tv=a,
        converse_tv=a if fd else None,
        achievable_kl=achievable_kl,
        converse_kl=converse_kl,
        matched_kl=matched,
        gap_factor_kl=gap,
        reason=reason,
    )


def theta_band_tv(eps: ArrayLike, *, c: ArrayLike, C: ArrayLike, alpha: ArrayLike) -> ThetaBand:
    """Vectorised TV band over arrays of (eps, c, C, alpha), broadcast together.

        (c / (2 eps))^(1/alpha) <= w*(eps) <= ceil((C / eps)^(1/alpha))

    c is the lower constant of Delta_TV (BR in TV), C the PTS constant, eps in (0, 1].
    """
    eps = in_unit_half_open("eps", eps)
    eps, c, C, alpha = broadcast(eps=eps, c=positive("c", c), C=positive("C", C), alpha=positive("alpha", alpha))
    if (c / 2 > C).any():
        raise ValueError("c / 2 must be <= C: the converse cannot exceed the achievability")
    return ThetaBand(eps=eps, lower=(c / (2 * eps)) ** (1.0 / alpha), upper=power_window(eps, C, alpha))


def achievable_window_tv(eps: ArrayLike, *, C: ArrayLike, alpha: ArrayLike) -> NDArray[np.float64]:
    """Vectorised w_ach(eps) = ceil((C / eps)^(1/alpha)) tokens, eps in (0, 1]."""
    return power_window(in_unit_half_open("eps", eps), C, alpha)
