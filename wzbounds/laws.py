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


EXACT_WINDOWS = 2.0**53  # below this every whole window is a float64 and the inverse is exact


def power_value(w: ArrayLike, C: ArrayLike, alpha: ArrayLike) -> NDArray[np.float64]:
    """C w^-alpha, always through numpy's array power (never its scalar power).

    numpy computes `x ** y` for a float64 *scalar* with the C library's pow and for
    an *array* with its own vectorised kernel; the two differ in the last bit on
    some inputs. Every evaluation of a power law (the law itself, and its inverse
    checking its answer) goes through this one function, so a window is exact
    whether eps comes as a scalar or as an array.
    """
    w = np.asarray(w, dtype=np.float64)
    return np.multiply(C, np.power(w.reshape(w.shape or (1,)), np.negative(alpha))).reshape(
        np.broadcast_shapes(w.shape, np.shape(C), np.shape(alpha)))[()]


def _smallest_whole(w: NDArray, law, eps: NDArray, w0: ArrayLike) -> NDArray[np.float64]:
    """The smallest whole w >= ceil(w0) with law(w) <= eps, starting from a guess `w` near it.

    The guess (the ceiling of the real root) is moved up while law(w) > eps and
    down while law(w - 1) <= eps, evaluating the law itself, so the answer is
    exact for any law that decreases in w: law(answer) <= eps and, unless the
    answer is ceil(w0), law(answer - 1) > eps. Windows at or beyond 2^53 (no
    longer whole float64 numbers) and inf are returned as computed.
    """
    low = np.ceil(np.asarray(w0, dtype=np.float64))
    w = np.maximum(np.ceil(w), low)
    exact = np.isfinite(w) & (w < EXACT_WINDOWS)
    for _ in range(64):  # the guess is off by at most a few tokens below 2^53
        up = exact & (law(np.where(exact, w, 1.0)) > eps)
        down = exact & ~up & (w - 1 >= low) & (law(np.where(exact, np.maximum(w - 1, low), 1.0)) <= eps)
        if not (up.any() or down.any()):
            return w
        w = w + up - down
    raise ArithmeticError("window inverse did not settle; please report this input")


def power_window(
    eps: ArrayLike, C: ArrayLike, alpha: ArrayLike, w0: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """Smallest whole w >= w0 with C w^-alpha <= eps, over broadcast arrays:

        w(eps) = max(ceil(w0), ceil((C / eps)^(1/alpha)))      [tokens]

    computed exactly: the rounded root is corrected by evaluating the law at the
    answer and one below (`power_value`, the same evaluation as `PowerLaw`), so
    the answer is the same for scalars and arrays. inf where the window exceeds
    the float64 range.
    """
    eps, C, alpha = positive("eps", eps), positive("C", C), positive("alpha", alpha)
    w0 = at_least("w0", w0, 1.0)
    with np.errstate(over="ignore"):  # a window beyond float64 is inf: no finite window reaches eps
        root = np.power(np.divide(C, eps), np.divide(1.0, alpha))
    return _smallest_whole(root, lambda w: power_value(w, C, alpha), eps, w0)


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
        return power_value(positive("w", w), self.C, self.alpha)

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
        w = at_least("w", w, 0.0)
        return np.multiply(self.C, np.power(self.rho, w.reshape(w.shape or (1,)))).reshape(w.shape)[()]

    def real_window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """The real solution log(C / eps) / log(1 / rho) of C rho^w = eps."""
        eps = positive("eps", eps)
        return np.log(self.C / eps) / -np.log(self.rho)

    def window(self, eps: ArrayLike) -> NDArray[np.float64]:
        """Smallest whole w >= w0 with C rho^w <= eps."""
        eps = positive("eps", eps)
        return _smallest_whole(self.real_window(eps), self, eps, self.w0)


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
