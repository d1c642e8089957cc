"""Stationary Gaussian processes fixed by their partial autocorrelations (PACF).

A stationary Gaussian process with unit variance is fixed by its PACF
phi_k in (-1, 1). The prediction error variance from the last w values is

    v_w = prod_{k <= w} (1 - phi_k^2),

and the Bayes-risk gap under log loss is exact:

    Delta(w) = E KL(N(a, v_inf) || N(b, v_w)) = 1/2 log(v_w / v_inf)
             = -1/2 sum_{k > w} log(1 - phi_k^2)                          (nats)

(a, b the full-past and window-w conditional means; E (a - b)^2 = v_w - v_inf.)
The window-w predictor N(b, v_w) is the law of the next value given the
window, so the sliding window IS the Bayes predictor: delta = Delta_TV.
Its TV has no closed form; E TV is a 1-D integral over the Gaussian mean
difference, done adaptively (the integrand has a kink at 0, so the half-line
is integrated). E TV ~ (1/pi) sqrt(v_w/v_inf - 1) ~ sqrt(2 Delta)/pi, and
E[TV^2] / (E TV)^2 -> pi/2: REG holds with R = pi/2.

Sources:
    ARFIMA(0,d,0)      phi_k = d/(k - d); Delta ~ d^2/(2w): beta = 1, alpha_TV = 1/2
    power PACF         phi_k = s_k c k^-eta, random signs s_k: beta = 2 eta - 1
    geometric PACF     phi_k = c rho^k: geometric control
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, special

from wzbounds._checks import at_least, in_open_unit, positive, whole_at_least
from wzbounds.curves import Curves
from wzbounds.sources._base import ExactCurves, Source, Truth, windows_grid

_Z_MAX = 12.0  # |z| beyond which the standard normal density is below 1e-31


def gaussian_tv(m: ArrayLike, r: ArrayLike) -> NDArray[np.float64]:
    """TV(N(m, 1), N(0, r)) for r >= 1, exactly, through the crossing points of the densities.

    The narrower density exceeds the wider one on an interval [x1, x2], the
    roots of A x^2 - 2 m x + m^2 - log r = 0 with A = 1 - 1/r; TV is the
    difference of the two laws' masses on it. For r = 1 it is 2 Phi(|m|/2) - 1.
    """
    m, r = np.broadcast_arrays(np.asarray(m, dtype=np.float64), np.asarray(r, dtype=np.float64))
    A = -np.expm1(-np.log(r))  # 1 - 1/r, accurate for r near 1
    b = -2.0 * m
    c = m**2 - np.log(r)
    disc = np.sqrt(np.maximum(b**2 - 4 * A * c, 0.0))
    sign = np.where(b > 0, 1.0, -1.0)
    q = -0.5 * (b + sign * disc)
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.where(q != 0, c / q, 0.0)  # the root that stays finite as A -> 0
        far = np.where(A > 0, q / A, np.inf * -sign)
    x1, x2 = np.minimum(near, far), np.maximum(near, far)
    equal_var = 2.0 * special.ndtr(np.abs(m) / 2.0) - 1.0
    s = np.sqrt(r)
    tv = (special.ndtr(x2 - m) - special.ndtr(x1 - m)) - (special.ndtr(x2 / s) - special.ndtr(x1 / s))
    return np.where(A > 0, tv, equal_var)


def gaussian_kl(m: ArrayLike, r: ArrayLike) -> NDArray[np.float64]:
    """KL(N(m, 1) || N(0, r)) = 1/2 [log r + (1 + m^2)/r - 1] in nats."""
    m, r = np.asarray(m, dtype=np.float64), np.asarray(r, dtype=np.float64)
    return 0.5 * (np.log(r) + np.expm1(-np.log(r)) + m**2 / r)


def _tv_moment(r: float, power: int) -> float:
    """E TV(N(e, 1), N(0, r))^power with e ~ N(0, r - 1): twice the half-line integral."""
    sd = math.sqrt(max(r - 1.0, 0.0))
    f = lambda z: gaussian_tv(sd * z, r) ** power * math.exp(-0.5 * z * z)  # noqa: E731
    value, _ = integrate.quad(f, 0.0, _Z_MAX, epsabs=0.0, epsrel=1e-9, limit=500)
    return 2.0 * value / math.sqrt(2.0 * math.pi)


class PACFGaussian(Source):
    """Unit-variance stationary Gaussian process given by its PACF; subclasses give phi_k
    and the exact tail sum behind Delta(w)."""

    def pacf(self, k: ArrayLike) -> NDArray[np.float64]:
        """phi_k for k = 1, 2, ..."""
        raise NotImplementedError

    def bayes_gap(self, windows: ArrayLike) -> NDArray[np.float64]:
        """Delta(w) = -1/2 sum_{k > w} log(1 - phi_k^2), exactly (nats)."""
        raise NotImplementedError

    def variance_ratio(self, windows: ArrayLike) -> NDArray[np.float64]:
        """v_w / v_inf = exp(2 Delta(w)) >= 1."""
        return np.exp(2.0 * self.bayes_gap(windows))

    def exact_curves(self, windows: ArrayLike) -> ExactCurves:
        w = windows_grid(windows)
        Delta = self.bayes_gap(w)
        r = np.exp(2.0 * Delta)
        tv = np.array([_tv_moment(ri, 1) for ri in r])
        tv2 = np.array([_tv_moment(ri, 2) for ri in r])
        return ExactCurves(w, tv, Delta, tv, tv2)

    def sample_curves(self, windows: ArrayLike, n: int, rng: np.random.Generator) -> Curves:
        """Per-sample TV and KL from the exact joint law of the prediction gaps.

        With e_w = (a - b_w)/sqrt(v_inf), windows w < w' have orthogonal increments:
        e_w = e_w' + N(0, r_w - r_w'), so the whole curve of one sample is drawn exactly.
        """
        w = windows_grid(windows)
        n = int(whole_at_least("n", n, 1))
        r = self.variance_ratio(w)
        steps = np.sqrt(np.maximum(-np.diff(np.append(r, 1.0)), 0.0))  # sd of each increment, largest w last
        increments = rng.standard_normal((n, w.size)) * steps
        e = np.cumsum(increments[:, ::-1], axis=1)[:, ::-1]
        tv = gaussian_tv(e, r)
        kl = gaussian_kl(e, r)
        return Curves(w, tv, bayes_kl=kl, bayes_tv=tv)

    def autocovariance(self, n_lags: int) -> NDArray[np.float64]:
        """gamma_0..gamma_{n_lags} (gamma_0 = 1) from the PACF by the Durbin-Levinson recursion."""
        n_lags = int(whole_at_least("n_lags", n_lags, 0))
        phi = self.pacf(np.arange(1, n_lags + 1))
        gamma = np.empty(n_lags + 1)
        gamma[0] = 1.0
        a = np.empty(0)
        v = 1.0
        for t in range(n_lags):
            gamma[t + 1] = phi[t] * v + a @ gamma[t:0:-1]
            a = np.append(a - phi[t] * a[::-1], phi[t])
            v *= 1.0 - phi[t] ** 2
        return gamma

    def sample_path(self, n: int, rng: np.random.Generator, *, paths: int = 1, method: str = "auto") -> NDArray:
        """Exact sampling: Durbin-Levinson (O(n^2), the default up to n = 4096) or circulant
        embedding (O(n log n) once the autocovariance is known; "circulant")."""
        n = int(whole_at_least("n", n, 1))
        paths = int(whole_at_least("paths", paths, 1))
        if method == "auto":
            method = "levinson" if n <= 4096 else "circulant"
        if method == "levinson":
            return self._levinson_path(n, rng, paths)
        if method == "circulant":
            return circulant_sample(self.autocovariance(n), n, rng, paths)
        raise ValueError(f"method must be 'auto', 'levinson' or 'circulant'; got {method!r}")

    def _levinson_path(self, n: int, rng: np.random.Generator, paths: int) -> NDArray:
        phi = self.pacf(np.arange(1, n))
        x = np.empty((paths, n))
        noise = rng.standard_normal((paths, n))
        x[:, 0] = noise[:, 0]
        a = np.empty(0)
        v = 1.0
        for t in range(1, n):
            p = phi[t - 1]
            a = np.append(a - p * a[::-1], p)
            v *= 1.0 - p * p
            x[:, t] = x[:, t - 1 :: -1] @ a + math.sqrt(v) * noise[:, t]
        return x


def circulant_sample(gamma: NDArray, n: int, rng: np.random.Generator, paths: int) -> NDArray:
    """Exact stationary Gaussian paths by circulant embedding of gamma_0..gamma_n (Davies-Harte)."""
    c = np.concatenate([gamma[: n + 1], gamma[n - 1 : 0 : -1]])
    lam = np.fft.fft(c).real
    if lam.min() < -1e-8 * lam.max():
        raise ValueError("circulant embedding is not non-negative definite for this process; use method='levinson'")
    lam = np.maximum(lam, 0.0)
    m = c.size
    z = rng.standard_normal((paths, m)) + 1j * rng.standard_normal((paths, m))
    y = np.fft.fft(np.sqrt(lam / m) * z, axis=1)
    return y.real[:, :n]


class ARFIMA(PACFGaussian):
    """ARFIMA(0, d, 0), 0 < d < 1/2: phi_k = d / (k - d).

    Delta(w) = 1/2 [lnGamma(w+1) + lnGamma(w+1-2d) - 2 lnGamma(w+1-d)]
             = 1/2 sum_{j>=1} d^(2j)/j zeta(2j, w+1-d)        (no cancellation; used while d <= (w+1-d)/2)
    with d^2/(2(w+1-d)) <= Delta(w) <= d^2/(2w): beta = 1 for every d.
    """

    name = "arfima"

    def __init__(self, d: float) -> None:
        if not (isinstance(d, (int, float)) and 0 < d < 0.5):
            raise ValueError(f"d must be in the open interval (0, 0.5); got {d!r}")
        self.d = float(d)

    @property
    def parameters(self) -> dict[str, float]:
        return {"d": self.d}

    @property
    def truth(self) -> Truth:
        return Truth(
            "power", alpha_tv=0.5, beta_kl=1.0, constants={"c_B": self.d**2 / 4, "C_B": self.d**2 / 2},  # Delta in [d^2/(4w), d^2/(2w)], w >= 1
            notes="Delta(w) ~ d^2/(2w); E TV ~ d/(pi sqrt(w)); REG with R -> pi/2; FD with K = 1",
        )

    def pacf(self, k: ArrayLike) -> NDArray[np.float64]:
        k = np.asarray(k, dtype=np.float64)
        return self.d / (k - self.d)

    def bayes_gap(self, windows: ArrayLike) -> NDArray[np.float64]:
        w = np.atleast_1d(at_least("windows", windows, 0.0))
        d = self.d
        j = np.arange(1, 41, dtype=np.float64)
        series = 0.5 * ((d ** (2 * j) / j) * special.zeta(2 * j, w[..., None] + 1 - d)).sum(axis=-1)
        closed = 0.5 * (special.gammaln(w + 1) + special.gammaln(w + 1 - 2 * d) - 2 * special.gammaln(w + 1 - d))
        # the series' terms shrink like (d / (w + 1 - d))^(2j): 40 terms reach 1e-24 while that ratio <= 1/2;
        # beyond (w = 0 with d > 1/3) Delta >= 0.06 and the closed form no longer cancels
        return np.where(d <= 0.5 * (w + 1 - d), series, closed).reshape(np.shape(windows))

    def autocovariance(self, n_lags: int) -> NDArray[np.float64]:
        """rho_k = prod_{i=1}^k (i - 1 + d)/(i - d), the closed form of ARFIMA autocorrelations."""
        k = np.arange(1, int(whole_at_least("n_lags", n_lags, 0)) + 1, dtype=np.float64)
        return np.concatenate([[1.0], np.cumprod((k - 1 + self.d) / (k - self.d))])


class PowerPACF(PACFGaussian):
    """phi_k = s_k c k^-eta with i.i.d. random signs s_k (seeded), 0 < c < 1, eta > 1/2.

    Delta(w) = -1/2 sum_{k>w} log(1 - c^2 k^-2eta)  (the signs drop out), with
        c^2/2 zeta(2 eta, w+1) <= Delta(w) <= c^2/(2 (1 - c^2 (w+1)^-2eta)) zeta(2 eta, w+1),
    so beta = 2 eta - 1 and alpha_TV = eta - 1/2. Without the random signs and with
    eta < 1 the spectral measure has an atom at frequency 0 (not ergodic).
    """

    name = "power-pacf"
    _DIRECT = 32
    _TERMS = 16

    def __init__(self, c: float, eta: float, sign_seed: int = 0) -> None:
        self.c = float(in_open_unit("c", c))
        self.eta = float(positive("eta", eta))
        if self.eta <= 0.5:
            raise ValueError(f"eta must be > 0.5 for a summable Bayes-risk gap; got {eta!r}")
        self.sign_seed = int(sign_seed)

    @property
    def parameters(self) -> dict[str, float]:
        return {"c": self.c, "eta": self.eta, "sign_seed": self.sign_seed}

    @property
    def truth(self) -> Truth:
        return Truth(
            "power", alpha_tv=self.eta - 0.5, beta_kl=2 * self.eta - 1,
            constants={"c_B": self.c**2 / (2 * (2 * self.eta - 1))},
            notes="Delta ~ c^2 w^(1-2eta) / (2 (2eta-1)); REG with R -> pi/2; FD with K = 1",
        )

    def pacf(self, k: ArrayLike) -> NDArray[np.float64]:
        k = np.asarray(k, dtype=np.int64)
        n = int(k.max()) if k.size else 0
        signs = np.random.default_rng(self.sign_seed).choice([-1.0, 1.0], size=n)
        return signs[k - 1] * self.c * k.astype(np.float64) ** -self.eta

    def bayes_gap(self, windows: ArrayLike) -> NDArray[np.float64]:
        w = np.atleast_1d(at_least("windows", windows, 0.0))
        c2, eta = self.c**2, self.eta
        k = w[..., None] + np.arange(1, self._DIRECT + 1)
        direct = -np.log1p(-c2 * k ** (-2 * eta)).sum(axis=-1)
        j = np.arange(1, self._TERMS + 1, dtype=np.float64)
        tail = ((c2**j / j) * special.zeta(2 * eta * j, w[..., None] + self._DIRECT + 1)).sum(axis=-1)
        return (0.5 * (direct + tail)).reshape(np.shape(windows))

    def gap_bounds(self, windows: ArrayLike) -> tuple[NDArray, NDArray]:
        """The two-sided bounds on Delta(w) through zeta(2 eta, w + 1)."""
        w = at_least("windows", windows, 0.0)
        z = special.zeta(2 * self.eta, w + 1)
        c2 = self.c**2
        return 0.5 * c2 * z, 0.5 * c2 * z / (1 - c2 * (w + 1) ** (-2 * self.eta))


class GeometricPACF(PACFGaussian):
    """phi_k = c rho^k: the geometric control. Delta(w) = 1/2 sum_j c^(2j)/j rho^(2j(w+1)) / (1 - rho^(2j))."""

    name = "geometric-pacf"
    _TERMS = 400

    def __init__(self, c: float, rho: float) -> None:
        self.c = float(in_open_unit("c", c))
        self.rho = float(in_open_unit("rho", rho))

    @property
    def parameters(self) -> dict[str, float]:
        return {"c": self.c, "rho": self.rho}

    @property
    def truth(self) -> Truth:
        return Truth("geometric", rho_tv=self.rho, rho_kl=self.rho**2,
                     notes="Delta ~ c^2 rho^(2(w+1)) / (2 (1 - rho^2)): geometric, the GTS control")

    def pacf(self, k: ArrayLike) -> NDArray[np.float64]:
        return self.c * self.rho ** np.asarray(k, dtype=np.float64)

    def bayes_gap(self, windows: ArrayLike) -> NDArray[np.float64]:
        w = np.atleast_1d(at_least("windows", windows, 0.0))
        j = np.arange(1, self._TERMS + 1, dtype=np.float64)
        r2 = self.rho ** (2 * j)
        terms = (self.c ** (2 * j) / j) * np.exp(2 * j * (w[..., None] + 1) * np.log(self.rho)) / (1 - r2)
        return (0.5 * terms.sum(axis=-1)).reshape(np.shape(windows))
