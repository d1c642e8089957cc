"""Jointly Gaussian Wyner-Ziv, discretised: the closed form reproduced by the discrete solvers.

(X, Y) jointly Gaussian, Var X = sigma^2, correlation rho, squared error:
R_WZ(D) = R_X|Y(D) = 1/2 log+(sigma^2 (1 - rho^2) / D) nats (`gaussian_wyner_ziv`).

The discrete problem: X is replaced by X_q, the centroid of its cell (cells of width
`step` sigma on [-span sigma, span sigma], the two outer cells unbounded), Y by the index
Y_q of its cell (width `side_step`), and reconstructions lie on a uniform grid of spacing
h over [min X_q, max X_q]. Its rates are bracketed, whatever the solver, by

    1/2 log+( sigma^2 (1 - rho^2) / (sqrt(D) + e)^2 ) <= R_X|Y,q(D) <= R_WZ,q(D)
                                                   <= 1/2 log+( v / (sqrt(D) - h/2)^2 ),

e = ||X - X_q||_2 (the quantisation error) and v = E Var(X_q | Y_q). Left: a code for
(X_q, Y_q) is a code for (X, Y) at L2 distortion at most sqrt(D) + e, and R_X|Y_q >= R_X|Y
because Y refines Y_q. Right: U = X_q + Z, Z ~ N(0, N), decoded as m(Y_q) + g (U - m(Y_q)),
m = E[X_q | Y_q], g = v / (v + N), then clipped to the grid and rounded (distortion up by at
most h/2 in L2), has rate I(X_q; U | Y_q) <= 1/2 log(1 + v / N) (Gaussian maximum entropy and
Jensen) at distortion v N / (v + N). The proof is in docs/ratedistortion.md.

The Wyner-Ziv solve enumerates no |Xhat|^|Y| strategies: it runs over the maps that scheme
uses once U is quantised, y -> round(clip(c m(y) + a)) for a on the reconstruction grid and c
near 1 - g, so its rate is achievable (an upper bound on R_WZ,q), and the conditional solve
gives R_X|Y,q, a lower bound on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from wzbounds._checks import as_float_array, positive
from wzbounds.ratedistortion.atdistortion import RatesAt, conditional_rates, wyner_ziv_rates
from wzbounds.ratedistortion.wynerziv import gaussian_wyner_ziv

#: Gauss-Legendre nodes per side-information cell, and where its outer cells are cut (in sigma_Y)
QUADRATURE_NODES, SIDE_CUTOFF = 40, 12.0

#: multiples of the scheme's c = 1 - g in the strategy family (c = 1 and c = 0 are always in)
STRATEGY_SPREAD = (0.8, 1.0, 1.25)


@dataclass(frozen=True)
class GaussianGrid:
    """A discretised jointly Gaussian pair: the joint law p(x_q, y_q), the centroids `x` of
    the X cells, the reconstruction grid `xhat` (spacing `reconstruction_step` h), the squared
    error matrix, the quantisation error e = ||X - X_q||_2 and v = E Var(X_q | Y_q)."""

    variance: float
    rho: float
    pxy: NDArray[np.float64]
    x: NDArray[np.float64]
    xhat: NDArray[np.float64]
    distortion: NDArray[np.float64]
    quantisation_error: float

    @property
    def reconstruction_step(self) -> float:
        return float(self.xhat[1] - self.xhat[0])

    @property
    def side_mean(self) -> NDArray[np.float64]:
        """m(y) = E[X_q | Y_q = y]."""
        return self.x @ self.pxy / self.pxy.sum(axis=0)

    @property
    def conditional_variance(self) -> float:
        """v = E Var(X_q | Y_q) = E X_q^2 - E m(Y_q)^2."""
        return float(self.pxy.sum(axis=1) @ self.x**2 - self.pxy.sum(axis=0) @ self.side_mean**2)

    def bounds(self, D: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The bracket (lower, upper) on R_X|Y,q(D) <= R_WZ,q(D), nats; upper is inf where sqrt(D) <= h/2."""
        root = np.sqrt(np.atleast_1d(as_float_array("D", D)))
        lower = np.maximum(0.0, np.log(self.variance * (1 - self.rho**2)) / 2 - np.log(root + self.quantisation_error))
        shrunk = root - self.reconstruction_step / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            upper = np.where(shrunk > 0, np.maximum(0.0, np.log(self.conditional_variance) / 2 - np.log(shrunk)), np.inf)
        return lower, upper

    def strategies(self, D: ArrayLike) -> NDArray[np.int64]:
        """The maps y -> round(clip(c m(y) + a)) of the quantised Gaussian scheme, for a on the
        reconstruction grid and c in {0, 1} and STRATEGY_SPREAD times D / v, for each D."""
        v = self.conditional_variance
        slopes = {0.0, 1.0} | {min(k * float(Dk) / v, 1.0) for Dk in np.atleast_1d(D) for k in STRATEGY_SPREAD}
        c = np.array(sorted(slopes))[:, None, None]
        values = np.clip(c * self.side_mean[None, None, :] + self.xhat[None, :, None], self.xhat[0], self.xhat[-1])
        index = np.rint((values - self.xhat[0]) / self.reconstruction_step).astype(np.int64)
        return np.unique(index.reshape(-1, self.pxy.shape[1]), axis=0)


def gaussian_grid(variance: float, rho: float, *, step: float = 0.1, side_step: float = 0.25,
                  span: float = 4.0) -> GaussianGrid:
    """Discretise (X, Y): X cells of width step * sigma on [-span sigma, span sigma], Y cells of
    width side_step * sigma_Y on the same span; reconstructions on as many points as X cells."""
    variance, step, side_step, span = (float(positive(n, v)) for n, v in
                                       (("variance", variance), ("step", step), ("side_step", side_step),
                                        ("span", span)))
    rho = float(rho)
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1); got {rho!r}")
    if span / step > 400 or span / side_step > 400:
        raise ValueError(f"span / step of {max(span / step, span / side_step):.0f} cells a side is too fine (at most 400)")
    sigma, tau = np.sqrt(variance), np.sqrt(variance * (1 - rho**2))
    x_edges = np.concatenate([[-np.inf], np.arange(-span, span + step / 2, step), [np.inf]])  # in sigma_X
    y_inner = np.arange(-span, span + side_step / 2, side_step)
    y_edges = np.concatenate([[-SIDE_CUTOFF], y_inner, [SIDE_CUTOFF]])  # Y standard; mass beyond the cut-off < 1e-32
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    lo, hi = y_edges[:-1, None], y_edges[1:, None]
    y = (lo + hi) / 2 + (hi - lo) / 2 * nodes
    w = (hi - lo) / 2 * weights * np.exp(-y**2 / 2) / np.sqrt(2 * np.pi)
    cdf = ndtr((sigma * x_edges[:, None, None] - rho * sigma * y[None]) / tau)  # P(X <= edge | Y = y)
    pxy = np.einsum("xyq,yq->xy", np.diff(cdf, axis=0), w)
    pxy /= pxy.sum()
    cell = np.diff(ndtr(x_edges))
    density = np.exp(-np.where(np.isfinite(x_edges), x_edges, 0.0)**2 / 2) * np.isfinite(x_edges) / np.sqrt(2 * np.pi)
    x = sigma * -np.diff(density) / cell  # E[X | X in cell]
    e2 = max(variance - cell @ x**2, 0.0)  # E (X - X_q)^2 = Var X - E X_q^2 for centroids
    xhat = np.linspace(x[0], x[-1], x.size)
    return GaussianGrid(variance, rho, pxy, x, xhat, (x[:, None] - xhat[None, :])**2, float(np.sqrt(e2)))


@dataclass(frozen=True)
class DiscretisedGaussian:
    """R_WZ and R_X|Y of a discretised Gaussian pair at each D, beside the closed form and the
    discretisation bracket (`bound_lower`, `bound_upper`) that the discrete rates must obey.

    `wyner_ziv.rate_upper` is achievable, so R_WZ,q <= it; `conditional.rate_lower` <= R_X|Y,q <=
    R_WZ,q. The closed form is reproduced within the stated discretisation error when both
    computed rates lie in the bracket, which also holds the closed form: `reproduced`."""

    distortion: NDArray[np.float64]
    closed_form: NDArray[np.float64]
    bound_lower: NDArray[np.float64]
    bound_upper: NDArray[np.float64]
    wyner_ziv: RatesAt
    conditional: RatesAt
    grid: GaussianGrid

    @property
    def reproduced(self) -> NDArray[np.bool_]:
        inside = lambda r: (self.bound_lower <= r) & (r <= self.bound_upper)  # noqa: E731
        return (inside(self.closed_form) & inside(self.wyner_ziv.rate_upper)
                & inside(self.conditional.rate_lower) & inside(self.conditional.rate_upper))


def discretised_gaussian_wyner_ziv(variance: float, rho: float, D: ArrayLike, *, step: float = 0.1,
                                   side_step: float = 0.25, span: float = 4.0, tol: float = 1e-2) -> DiscretisedGaussian:
    """The discretised computation of R_WZ(D) = R_X|Y(D) for a jointly Gaussian pair (see the
    module docstring), each rate within `tol` nats of its discrete value."""
    D = np.atleast_1d(as_float_array("D", D))
    if np.any(~np.isfinite(D) | (D <= 0)):
        raise ValueError("D must be finite and > 0 (squared-error distortions)")
    grid = gaussian_grid(variance, rho, step=step, side_step=side_step, span=span)
    lower, upper = grid.bounds(D)
    coarse = D[~np.isfinite(upper)]
    if coarse.size:
        raise ValueError(f"D = {float(coarse[0]):g} is below the grid's resolution (h/2)^2 = "
                         f"{(grid.reconstruction_step / 2)**2:.3g}; use a smaller step")
    wz = wyner_ziv_rates(grid.pxy, grid.distortion, D, tol=tol, strategy_set=grid.strategies(D))
    conditional = conditional_rates(grid.pxy, grid.distortion, D, tol=tol)
    return DiscretisedGaussian(D, gaussian_wyner_ziv(variance, rho, D), lower, upper, wz, conditional, grid)
