"""Hypothesis strategies for property-testing code that handles distributions.

Shipped inside the package (as dit does) so users can property-test their own
divergences and predictors with the same generators wzbounds is tested with.
Requires `hypothesis` (the `test` extra).

    from hypothesis import given
    from wzbounds.strategies import distributions

    @given(distributions(V=5))
    def test_sums_to_one(p): ...
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
