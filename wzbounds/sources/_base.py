"""What every synthetic source provides."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wzbounds._checks import whole_at_least
from wzbounds.curves import Curves


@dataclass(frozen=True)
class Truth:
    """The known ground truth of a source.

    law: "power" or "geometric", the decay of its truncation sensitivity.
    alpha_tv / beta_kl: exponents of delta(w) = E TV and of Delta(w) (KL), when known
    in closed form (None otherwise); for a geometric law, rho_tv / rho_kl are the rates.
    notes: what holds and what fails (REG, FD, exponent doubling...).
    """

    law: str
    alpha_tv: float | None = None
    beta_kl: float | None = None
    rho_tv: float | None = None
    rho_kl: float | None = None
    constants: dict[str, float] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class ExactCurves:
    """Expected curves computed exactly (no sampling); None where no exact form exists.

    delta = E TV(p, p^(w)); Delta = E KL(p || pbar^(w)) in nats;
    Delta_TV = E TV(p, pbar^(w)); tv_second_moment = E TV^2 (for REG).
    """

    windows: NDArray[np.float64]
    delta: NDArray[np.float64] | None
    Delta: NDArray[np.float64] | None
    Delta_TV: NDArray[np.float64] | None
    tv_second_moment: NDArray[np.float64] | None

    @property
    def reg_ratio(self) -> NDArray[np.float64] | None:
        """R(w) = E TV^2 / (E TV)^2, the REG constant window by window."""
        if self.delta is None or self.tv_second_moment is None:
            return None
        return self.tv_second_moment / self.delta**2


class Source(ABC):
    """A source with ground truth: paths, exact curves where they exist, and
    exactly computed per-sample curves for the statistics to work on."""

    name: str

    @property
    @abstractmethod
    def truth(self) -> Truth: ...

    @property
    @abstractmethod
    def parameters(self) -> dict[str, float]: ...

    @abstractmethod
    def sample_path(self, n: int, rng: np.random.Generator, *, paths: int = 1) -> NDArray:
        """`paths` independent paths of length n, shape (paths, n)."""

    @abstractmethod
    def sample_curves(self, windows: ArrayLike, n: int, rng: np.random.Generator) -> Curves:
        """n independent samples of the per-window distortions, computed exactly per sample."""

    def exact_curves(self, windows: ArrayLike) -> ExactCurves:
        """Expected curves in closed form or by quadrature; sources without one return Nones."""
        w = windows_grid(windows)
        return ExactCurves(w, None, None, None, None)


class ContextSource(Source):
    """A token source measured at the end of paths of `context` tokens (the 'full past')."""

    context: int

    def _paths(self, windows: ArrayLike, n: int, rng: np.random.Generator, mu: float):
        """(window grid, mu, n sampled paths), refusing windows beyond the context."""
        from wzbounds._checks import in_open_unit

        w = windows_grid(windows)
        if w[-1] > self.context:
            raise ValueError(f"windows must not exceed the context ({self.context} tokens); got {w[-1]:g}")
        mu = float(in_open_unit("mu", mu))
        return w, mu, self.sample_path(self.context, rng, paths=int(whole_at_least("n", n, 1)))


def windows_grid(windows: ArrayLike) -> NDArray[np.float64]:
    """A strictly increasing 1-D grid of whole windows >= 1."""
    w = np.atleast_1d(whole_at_least("windows", windows, 1))
    if w.ndim != 1 or np.any(np.diff(w) <= 0):
        raise ValueError("windows must be a strictly increasing list of whole numbers >= 1")
    return w
