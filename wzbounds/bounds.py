"""Achievability, converse and the Theta band for suffix-only cache policies.

A `WindowBound` pairs two power laws in one distortion (TV, or KL_mu):

    achievability  the sliding window of w tokens has  D(w) <= A w^-a
    converse       every suffix-only policy of window w has  D(w) >= B w^-b
                   (suffix-only: the decoder's prediction is a function of the
                   last w tokens; past caches taken together may reveal more)

so the smallest window w*(eps) reaching distortion eps lies in the band

    (B / eps)^(1/b)  <=  w*(eps)  <=  ceil((A / eps)^(1/a)).

With a = b the band is Theta(eps^(-1/a)) with explicit constants. The
constructors below build the pair from the paper's hypotheses (PTS, REG,
BR in the bound's own distortion) and record which hypothesis proves each
end; `exponents` does the bookkeeping of which hypotheses make the two
exponents meet, distortion by distortion. Windows are in tokens, TV is unitless, KL_mu is in nats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    hypothesis (BR in the same distortion) is assumed: then only achievability
    is known, and no lower window is given. `hypotheses` names what proves
    each end (`achievable_from`, `converse_from`); `parameters` holds the
    hypotheses' constants (C, alpha, c_B, beta, V, mu, R, w0) that the laws were
    derived from, so the derivation can be checked independently
    (`wzbounds.testing.check_bound` rebuilds the windows from them symbolically,
    and refuses to certify a bound that states none).
    """

    distortion: str
    achievability: PowerLaw
    converse: PowerLaw | None = None
    achievable_from: str = "an upper law given directly"
    converse_from: str | None = None
    parameters: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.distortion not in DISTORTIONS:
            raise ValueError(f"distortion must be one of {DISTORTIONS}; got {self.distortion!r}")
        lo, up = self.converse, self.achievability
        if lo is None:
            return
        if self.converse_from is None:
            object.__setattr__(self, "converse_from", "a lower law given directly")
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
        """(B / eps)^(1/b) tokens: every suffix-only window below it has D > eps.

        The lower law holds for w >= w0; below w0 the Bayes-risk gap, which never grows
        with w, is at least its value B w0^-b at w0. So the end is (B / eps)^(1/b) when
        that is >= w0; when it is below w0 (eps > B w0^-b) nothing excludes any window,
        and the end is the trivial 1."""
        if self.converse is None:
            raise ValueError("this bound has no converse: give the Bayes-risk lower law (c_B, beta) "
                             "of the gap in the same distortion")
        root = self.converse.real_window(self._eps(eps))
        return np.where(root >= self.converse.w0, root, 1.0)[()]

    def band(self, eps: ArrayLike) -> ThetaBand:
        """The Theta band [converse_window, achievable_window] on a grid of eps."""
        eps = self._eps(eps)
        return ThetaBand(eps=eps, lower=self.converse_window(eps), upper=self.achievable_window(eps))

    def distortion_at(self, window: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """(upper, lower) distortion at a window: what the sliding window is guaranteed,
        and what no suffix-only policy can beat (None without a converse).

        Both laws hold for w >= w0 only. Below w0 the upper end is NaN (PTS says nothing
        there; the distortion of a truncation need not be monotone), and the lower end is
        B w0^-b, the lower law at w0 (the Bayes-risk gap never grows with w)."""
        window = at_least("window", window, 1.0)
        w0 = self.achievability.w0
        upper = np.where(window >= w0, self.achievability(np.maximum(window, w0)), np.nan)[()]
        lower = None if self.converse is None else self.converse(np.maximum(window, self.converse.w0))
        return upper, lower

    def describe(self) -> list[str]:
        """One line per end of the band: the law and the hypotheses that prove it."""
        up, lo = self.achievability, self.converse
        lines = [f"upper end (achievability): {up.C:.6g} w^-{up.alpha:.6g}, from {self.achievable_from}"]
        if lo is None:
            lines.append("lower end: none; a converse needs a lower law for the Bayes-risk gap in this distortion "
                         "(BR), and holds for decoders that see only the last w tokens")
        else:
            lines.append(f"lower end (converse): {lo.C:.6g} w^-{lo.alpha:.6g}, from {self.converse_from}")
        return lines


SUFFIX_ONLY = "the decoder's prediction is a function of the last w tokens"


def sliding_window_tv(
    C: float, alpha: float, *, c_B: float | None = None, beta: float | None = None, w0: float = 1.0
) -> WindowBound:
    """The TV bound from PTS, delta(w) <= C w^-alpha, and BR in TV.

    Achievability: E TV(p_t, p_t^(w)) = delta(w) <= C w^-alpha.
    Converse: if Delta_TV(w) >= c_B w^-beta (beta defaults to alpha), every
    suffix-only policy has E TV >= Delta_TV(w) / 2 >= (c_B / 2) w^-beta.
    Without c_B there is no converse.
    """
    upper = PowerLaw(C, alpha, w0)
    params = {"C": upper.C, "alpha": upper.alpha, "w0": upper.w0}
    if c_B is None:
        if beta is not None:
            raise ValueError("beta without c_B: the Bayes-risk lower law is c_B w^-beta; give both")
        return WindowBound("tv", upper, achievable_from="PTS (delta(w) <= C w^-alpha)", parameters=params)
    lower = PowerLaw(float(positive("c_B", c_B)) / 2, alpha if beta is None else beta, w0)
    params.update(c_B=float(c_B), beta=lower.alpha)
    return WindowBound("tv", upper, lower, achievable_from="PTS (delta(w) <= C w^-alpha)",
                       converse_from=f"BR in TV (Delta_TV(w) >= c_B w^-beta) and E TV >= Delta_TV / 2, "
                                     f"for policies where {SUFFIX_ONLY}",
                       parameters=params)


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
    """The KL_mu bound from PTS in TV, the sandwich, optionally REG and BR in KL_mu.

    Achievability: kappa_mu(w) <= K(V,mu) R C^2 w^-2alpha under REG with
    constant R, else kappa_mu(w) <= K(V,mu) C w^-alpha.
    Converse: the *smoothed* Bayes-risk gap Delta_mu(w) = E KL_mu(p, pbar)
    bounds every suffix-only policy from below in KL_mu; (c_B, beta) is its
    lower law Delta_mu(w) >= c_B w^-beta. A lower law on the unsmoothed gap
    Delta says nothing here (Delta_mu <= Delta).
    """
    a = float(positive("alpha", alpha))
    upper = PowerLaw(kl_mu_constant(C, V, mu, R), a if R is None else 2 * a, w0)
    params = {"C": float(C), "alpha": a, "V": int(V), "mu": float(mu), "w0": upper.w0}
    achievable_from = ("PTS, REG and the smoothed-KL sandwich (kappa_mu <= K(V,mu) R delta^2)" if R is not None
                       else "PTS and the smoothed-KL sandwich without REG (kappa_mu <= K(V,mu) delta)")
    if R is not None:
        params["R"] = float(R)
    if c_B is None:
        if beta is not None:
            raise ValueError("beta without c_B: the smoothed Bayes-risk lower law is c_B w^-beta; give both")
        return WindowBound("kl_mu", upper, achievable_from=achievable_from, parameters=params)
    if beta is None:
        raise ValueError("beta is required with c_B: the smoothed Bayes-risk gap is Delta_mu(w) >= c_B w^-beta")
    params.update(c_B=float(c_B), beta=float(beta))
    return WindowBound("kl_mu", upper, PowerLaw(c_B, beta, w0), achievable_from=achievable_from,
                       converse_from=f"BR in KL_mu (Delta_mu(w) >= c_B w^-beta), for policies where {SUFFIX_ONLY}",
                       parameters=params)


@dataclass(frozen=True)
class ExponentRow:
    """One distortion's exponents, for D(w) ~ w^-exponent (a window for eps scales as eps^(-1/exponent)).

    `achievable` is None when nothing bounds the sliding window from above in this
    distortion (unsmoothed KL can be infinite); `converse` is None when no hypothesis
    bounds every suffix-only policy from below. The `*_from` fields name the hypotheses.
    """

    distortion: str
    achievable: float | None
    achievable_from: str
    converse: float | None
    converse_from: str

    @property
    def matched(self) -> bool:
        """Both exponents known and equal: a Theta(eps^(-1/exponent)) window in this distortion."""
        return (self.achievable is not None and self.converse is not None
                and bool(np.isclose(self.converse, self.achievable, rtol=1e-12, atol=0.0)))

    @property
    def gap_factor(self) -> float | None:
        """converse / achievable (1 when matched, 2 for the factor-of-two gap), None if either is unknown."""
        if self.achievable is None or self.converse is None:
            return None
        return self.converse / self.achievable

    @property
    def reason(self) -> str:
        name = {"tv": "TV", "kl_mu": "KL_mu", "kl": "KL"}[self.distortion]
        if self.matched:
            return f"{name}: exponents meet at {self.achievable:g}: Theta(eps^(-1/{self.achievable:g}))"
        if self.achievable is None and self.converse is None:
            return f"{name}: no bound in either direction from these hypotheses"
        if self.achievable is None:
            return f"{name}: converse exponent {self.converse:g} ({self.converse_from}); no achievability in {name}"
        if self.converse is None:
            return f"{name}: achievable exponent {self.achievable:g}; no converse ({self.converse_from})"
        return (f"{name}: achievable {self.achievable:g} ({self.achievable_from}) and converse {self.converse:g} "
                f"({self.converse_from}) differ by a factor {self.gap_factor:g}")


@dataclass(frozen=True)
class ExponentTable:
    """The exponent bookkeeping of `exponents`: one `ExponentRow` per distortion (TV, KL_mu, KL)."""

    alpha: float
    reg: bool
    fd: bool
    beta_tv: float | None
    beta_mu: float | None
    beta: float | None
    rows: tuple[ExponentRow, ...]

    def row(self, distortion: str) -> ExponentRow:
        for r in self.rows:
            if r.distortion == distortion:
                return r
        raise KeyError(distortion)

    @property
    def reason(self) -> str:
        return "; ".join(r.reason for r in self.rows)


def _converse(candidates: list[tuple[float | None, str]], none_reason: str) -> tuple[float | None, str]:
    """The strongest lower law among the candidates: the smallest exponent (it decays slowest)."""
    known = [(e, why) for e, why in candidates if e is not None]
    if not known:
        return None, none_reason
    return min(known, key=lambda item: item[0])


def exponents(
    alpha: float, *, reg: bool, fd: bool, beta_tv: float | None = None, beta_mu: float | None = None,
    beta: float | None = None,
) -> ExponentTable:
    """Exponent bookkeeping under two-sided PTS with exponent alpha (TV), in TV, KL_mu and KL.

    Achievability (the sliding window): TV alpha; KL_mu 2 alpha under REG, alpha
    without; KL none (unsmoothed KL of a truncation can be infinite).
    Converse, each from a lower law on the Bayes-risk gap *in the same distortion*:
      TV     beta_tv (BR on Delta_TV); alpha from FD (Delta_TV >= delta / K)
      KL_mu  beta_mu (BR on Delta_mu); 2 alpha from FD and the smoothed Pinsker
             inequality Delta_mu >= 2 (1-mu)^2 Delta_TV^2
      KL     beta (BR on the unsmoothed Delta); 2 alpha from FD and Pinsker.
    A lower law in TV also gives lower laws in the KL gaps: 2 beta_tv for Delta_mu
    (smoothed Pinsker, Delta_mu >= 2 (1-mu)^2 Delta_TV^2, with Jensen) and for Delta
    (Pinsker). BR on Delta gives no KL_mu converse, because Delta_mu <= Delta. With
    several candidates the smallest exponent (the slowest lower law) is the converse.

    The betas are exponents of the two-sided BR laws (c_B w^-beta <= gap <= C_B w^-beta).
    Refused as contradictory: a converse exponent below the achievable one in its
    distortion; beta_mu < beta (Delta_mu <= Delta); beta or beta_mu above 2 beta_tv
    (Pinsker: gap >= 2 (1-mu)^2 Delta_TV^2); and, with FD, beta_tv != alpha (FD and
    two-sided PTS pin Delta_TV between delta / K and 2 delta, both of order w^-alpha)
    and beta or beta_mu above 2 alpha (Pinsker on that Delta_TV).
    """
    a = float(positive("alpha", alpha))
    b_tv, b_mu, b = (None if x is None else float(positive(n, x))
                     for n, x in (("beta_tv", beta_tv), ("beta_mu", beta_mu), ("beta", beta)))
    if b_mu is not None and b is not None and b_mu < b * (1 - 1e-12):
        raise ValueError(f"beta_mu = {b_mu:g} < beta = {b:g}: the smoothed gap Delta_mu <= Delta cannot decay slower")
    for name, e in (("beta_mu", b_mu), ("beta", b)):
        if e is not None and b_tv is not None and e > 2 * b_tv * (1 + 1e-12):
            raise ValueError(f"{name} = {e:g} > 2 beta_tv = {2 * b_tv:g}: Pinsker (gap >= 2 Delta_TV^2) "
                             "forbids the KL gap to decay faster than twice the TV gap")
    if fd and b_tv is not None and not np.isclose(b_tv, a, rtol=1e-12, atol=0.0):
        raise ValueError(f"beta_tv = {b_tv:g} with FD: FD and two-sided PTS pin Delta_TV between delta/K and 2 delta, "
                         f"both of order w^-{a:g}, so a two-sided BR in TV has beta_tv = alpha = {a:g}")
    for name, e in (("beta_mu", b_mu), ("beta", b)):
        if fd and e is not None and e > 2 * a * (1 + 1e-12):
            raise ValueError(f"{name} = {e:g} > 2 alpha = {2 * a:g} with FD: the KL gap is at least 2 (1-mu)^2 "
                             f"Delta_TV^2, of order w^-{2 * a:g} under FD and two-sided PTS")
    fd_why = "FD and two-sided PTS"
    tv_pinsker = 2 * b_tv if b_tv is not None else None
    rows = [
        ExponentRow("tv", a, "PTS", *_converse(
            [(b_tv, "BR in TV (Delta_TV)"), (a if fd else None, fd_why)],
            "no lower law for Delta_TV: give beta_tv or assume FD")),
        ExponentRow("kl_mu", 2 * a if reg else a,
                    "PTS, REG and the sandwich" if reg else "PTS and the sandwich (no REG)", *_converse(
                        [(b_mu, "BR in KL_mu (Delta_mu)"), (2 * a if fd else None, fd_why + " and smoothed Pinsker"),
                         (tv_pinsker, "BR in TV and smoothed Pinsker (Delta_mu >= 2 (1-mu)^2 Delta_TV^2)")],
                        "no lower law for Delta_mu: give beta_mu or beta_tv, or assume FD (BR on the unsmoothed "
                        "Delta says nothing in KL_mu)")),
        ExponentRow("kl", None, "none: unsmoothed KL of a truncation is unbounded", *_converse(
            [(b, "BR in KL (Delta)"), (2 * a if fd else None, fd_why + " and Pinsker"),
             (tv_pinsker, "BR in TV and Pinsker (Delta >= 2 Delta_TV^2)")],
            "no lower law for Delta: give beta or beta_tv, or assume FD")),
    ]
    for row in rows:
        if row.achievable is not None and row.converse is not None and row.converse < row.achievable * (1 - 1e-12):
            raise ValueError(
                f"{row.distortion} converse exponent {row.converse:g} ({row.converse_from}) is below the achievable "
                f"exponent {row.achievable:g}: a lower bound cannot decay slower than an upper bound on the same curve"
            )
    return ExponentTable(a, bool(reg), bool(fd), b_tv, b_mu, b, tuple(rows))


def theta_band_tv(eps: ArrayLike, *, C: ArrayLike, alpha: ArrayLike, c_B: ArrayLike) -> ThetaBand:
    """Vectorised TV band over arrays of (eps, C, alpha, c_B), broadcast together.

        (c_B / (2 eps))^(1/alpha) <= w*(eps) <= ceil((C / eps)^(1/alpha))

    C is the PTS constant, c_B the lower constant of Delta_TV (BR in TV with the
    exponent alpha), eps in (0, 1], both laws from w0 = 1 on. The lower end holds for
    suffix-only policies; where the root is below 1 it is the trivial 1, as in
    `WindowBound.converse_window`.
    """
    eps = in_unit_half_open("eps", eps)
    eps, C, alpha, c_B = broadcast(eps=eps, C=positive("C", C), alpha=positive("alpha", alpha),
                                   c_B=positive("c_B", c_B))
    if (c_B / 2 > C).any():
        raise ValueError("c_B / 2 must be <= C: the converse cannot exceed the achievability")
    return ThetaBand(eps=eps, lower=np.maximum((c_B / (2 * eps)) ** (1.0 / alpha), 1.0), upper=power_window(eps, C, alpha))


def achievable_window_tv(eps: ArrayLike, *, C: ArrayLike, alpha: ArrayLike) -> NDArray[np.float64]:
    """Vectorised w_ach(eps) = ceil((C / eps)^(1/alpha)) tokens, eps in (0, 1]."""
    return power_window(in_unit_half_open("eps", eps), C, alpha)
