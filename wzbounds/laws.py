"""Decay laws for truncation sensitivity and their inverses.

A law D(w) bounds (or models) a distortion as a function of the window w in
tokens. Each law evaluates on arrays of windows and inverts: `window(eps)`
is the smallest whole window w >= w0 with D(w) <= eps.

    PowerLaw:      D(w) = C w^-alpha          (PTS)
    GeometricLaw:  D(w) = C rho^w             (GTS)
    TwoSided:      lower(w) <= D(w) <= upper(w), one exponent on both sides
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import at_least, in_open_unit, positive


def _window_floor(raw: NDArray, w0: ArrayLike) -> NDArray[np.float64]:
    """ceil(raw), never below ceil(w0) (float64, so windows beyond 2^63 do not wrap)."""
    return np.maximum(np.ceil(raw), np.ceil(w0))


def power_window(
    eps: ArrayLike, C: ArrayLike, alpha: ArrayLike, w0: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """Smallest whole w >= w0 with C w^-alpha <= eps, over broadcast arrays:

        w(eps) = max(w0, ceil((C / eps)^(1/alpha)))      [tokens]

    inf where the window exceeds the float64 range.
    """
    eps, C, alpha = positive("eps", eps), positive("C", C), positive("alpha", alpha)
    w0 = at_least("w0", w0, 1.0)
    law = lambda w: C * w**-alpha  # noqa: E731
    with np.errstate(over="ignore"):  # a window beyond float64 is inf: no finite window reaches eps
        return _smallest_whole(_window_floor((C / eps) ** (1.0 / alpha), w0), law, eps, w0)


def _smallest_whole(w: NDArray, law, eps: NDArray, w0: ArrayLike) -> NDArray[np.float64]:
    """Correct a rounded root w = ceil(root) by one step either way, so that w is the
    smallest whole number >= w0 whose evaluated law reaches eps."""
    w = w + (law(w) > eps)
    return w - ((w - 1 >= np.ceil(w0)) & (law(np.maximum(w - 1, np.ceil(w0))) <= eps))


@dataclass(frozen=True)
class PowerLaw:
    """D(w) = C w^-alpha for w >= w0 (C in distortion units, w in tokens)."""

    C: float
    alpha: float
    w0: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "C", float(positive("C", self.C)))
        object.__setattr__(self, "alpha", float(positive("alpha", self.alpha)))
        object.__setattr__(self, "w0", float(at_least("w0", self.w0, 1.0)))

    def __call__(self, w: ArrayLike) -> NDArray[np.float64]:
        """C w^-alpha."""
        return self.C * positive("w", w) ** -self.alpha

    def real_window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """The real solution (C / eps)^(1/alpha) of C w^-alpha = eps (no floor at w0)."""
        eps = positive("eps", eps)
        return (self.C / eps) ** (1.0 / self.alpha)

    def window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """Smallest whole w >= w0 with C w^-alpha <= eps: max(w0, ceil((C/eps)^(1/alpha)))."""
        return power_window(eps, self.C, self.alpha, self.w0)


@dataclass(frozen=True)
class GeometricLaw:
    """D(w) = C rho^w for w >= w0, rho in (0, 1)."""

    C: float
    rho: float
    w0: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "C", float(positive("C", self.C)))
        object.__setattr__(self, "rho", float(in_open_unit("rho", self.rho)))
        object.__setattr__(self, "w0", float(at_least("w0", self.w0, 1.0)))

    def __call__(self, w: ArrayLike) -> NDArray[np.float64]:
        """C rho^w."""
        return self.C * self.rho ** at_least("w", w, 0.0)

    def real_window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """The real solution log(C / eps) / log(1 / rho) of C rho^w = eps."""
        eps = positive("eps", eps)
        return np.log(self.C / eps) / -np.log(self.rho)

    def window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """Smallest whole w >= w0 with C rho^w <= eps."""
        eps = positive("eps", eps)
        return _smallest_whole(_window_floor(self.real_window(eps), self.w0), self, eps, self.w0)


Law = PowerLaw | GeometricLaw


def _rate(law: Law) -> float:
    return law.alpha if isinstance(law, PowerLaw) else law.rho


@dataclass(frozen=True)
class TwoSided:
    """lower(w) <= D(w) <= upper(w): two laws of one family with one exponent (or rho).

    The two-sided PTS condition is `two_sided_power(c, C, alpha)`; the two-sided
    geometric condition is `two_sided_geometric(c, C, rho)`.
    """

    lower: Law
    upper: Law

    def __post_init__(self) -> None:
        if type(self.lower) is not type(self.upper):
            raise ValueError(
                f"lower and upper must be laws of one family; got "
                f"{type(self.lower).__name__} and {type(self.upper).__name__}"
            )
        if _rate(self.lower) != _rate(self.upper) or self.lower.w0 != self.upper.w0:
            raise ValueError("lower and upper must share their exponent (or rho) and w0")
        if self.lower.C > self.upper.C:
            raise ValueError(
                f"c must be <= C for a two-sided law; got c={self.lower.C:g} > C={self.upper.C:g}"
            )

    def contains(self, w: ArrayLike, values: ArrayLike) -> NDArray[np.bool_]:
        """Whether lower(w) <= values <= upper(w), pointwise."""
        values = np.asarray(values, dtype=np.float64)
        return (self.lower(w) <= values) & (values <= self.upper(w))


def two_sided_power(c: float, C: float, alpha: float, w0: float = 1.0) -> TwoSided:
    """The two-sided PTS condition c w^-alpha <= D(w) <= C w^-alpha, w >= w0."""
    return TwoSided(PowerLaw(c, alpha, w0), PowerLaw(C, alpha, w0))


def two_sided_geometric(c: float, C: float, rho: float, w0: float = 1.0) -> TwoSided:
    """The two-sided geometric condition c rho^w <= D(w) <= C rho^w, w >= w0."""
    return TwoSided(GeometricLaw(c, rho, w0), GeometricLaw(C, rho, w0))
