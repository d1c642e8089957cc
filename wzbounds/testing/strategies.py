"""Hypothesis strategies for property-testing code that handles distributions.

Shipped inside the package (as dit does) so users can property-test their own
divergences and predictors with the same generators wzbounds is tested with.
Requires `hypothesis` (the `test` extra).

    from hypothesis import given
    from wzbounds.testing.strategies import distributions

    @given(distributions(V=5))
    def test_sums_to_one(p): ...

Distributions, pairs and channels; finite suffix-prediction problems; and
synthetic sources with random parameters (`gaussian_sources`, `copy_sources`,
`hmm_sources`).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from wzbounds.bayesrisk import SuffixPrediction

# Exact zeros (the edges of the simplex) or masses >= 1e-9: products of masses below
# 1e-300 underflow in float64, which no probability code can be asked to survive.
_weights = st.one_of(st.just(0.0), st.floats(1e-9, 1.0))


def _normalise(raw: np.ndarray) -> np.ndarray:
    raw = raw.copy()
    total = raw.sum(axis=-1, keepdims=True)
    raw[(total == 0)[..., 0], 0] = 1.0
    return raw / raw.sum(axis=-1, keepdims=True)


@st.composite
def distributions(draw: st.DrawFn, V: int | st.SearchStrategy[int] = st.integers(2, 8), batch: tuple[int, ...] = ()) -> np.ndarray:
    """Probability vectors on V symbols (shape batch + (V,)), zeros and point masses included.

    Entries are exact zeros (to reach the edges of the simplex) or drawn in
    [1e-9, 1], then normalised; an all-zero draw becomes a point mass.
    """
    size = draw(V) if isinstance(V, st.SearchStrategy) else V
    raw = draw(hnp.arrays(np.float64, batch + (size,), elements=_weights))
    return _normalise(raw)


@st.composite
def distribution_pairs(draw: st.DrawFn, V: st.SearchStrategy[int] = st.integers(2, 8)) -> tuple[np.ndarray, np.ndarray]:
    """Two distributions on one alphabet."""
    size = draw(V)
    return draw(distributions(size)), draw(distributions(size))


@st.composite
def suffix_predictions(
    draw: st.DrawFn, n_far: st.SearchStrategy[int] = st.integers(1, 4), n_suffix: st.SearchStrategy[int] = st.integers(1, 4),
    V: st.SearchStrategy[int] = st.integers(2, 5),
) -> SuffixPrediction:
    """Finite suffix-prediction problems: a joint law pi(z, s) and laws p(. | z, s)."""
    nz, ns, v = draw(n_far), draw(n_suffix), draw(V)
    weights = draw(distributions(nz * ns)).reshape(nz, ns)
    laws = draw(distributions(v, batch=(nz, ns)))
    return SuffixPrediction(weights, laws)


@st.composite
def channels(
    draw: st.DrawFn, n_in: st.SearchStrategy[int] = st.integers(1, 6), n_out: st.SearchStrategy[int] = st.integers(2, 6)
) -> np.ndarray:
    """Stochastic matrices W[x, y] = P(y | x): every row a distribution."""
    rows, cols = draw(n_in), draw(n_out)
    return draw(distributions(cols, batch=(rows,)))


def gaussian_sources() -> st.SearchStrategy:
    """ARFIMA, power-PACF and geometric-PACF sources with random parameters."""
    from wzbounds.sources import ARFIMA, GeometricPACF, PowerPACF

    return st.one_of(
        st.builds(ARFIMA, st.floats(0.01, 0.49)),
        st.builds(PowerPACF, st.floats(0.05, 0.95), st.floats(0.55, 2.0), st.integers(0, 2**16)),
        st.builds(GeometricPACF, st.floats(0.05, 0.95), st.floats(0.05, 0.95)),
    )


def copy_sources(max_context: int = 512) -> st.SearchStrategy:
    """Power-law copy sources with random V, lam, alpha and a context up to `max_context`."""
    from wzbounds.sources import PowerLawCopy

    return st.builds(PowerLawCopy, st.integers(2, 10**6), st.floats(0.05, 0.95), st.floats(0.1, 2.0),
                     st.integers(16, max_context))


@st.composite
def hmm_sources(draw: st.DrawFn, max_age: int = 64, context: int = 128):
    """Renewal HMMs with random emissions, switch matrices and dwell exponents."""
    from wzbounds.sources import RenewalHMM

    K, V = draw(st.integers(2, 3)), draw(st.integers(2, 4))
    emissions = 0.9 * draw(distributions(V, batch=(K,))) + 0.1 / V
    switch = draw(distributions(K, batch=(K,)))
    return RenewalHMM(emissions, switch, gamma=draw(st.floats(1.1, 3.0)), max_age=max_age, context=context)
