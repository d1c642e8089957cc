"""Every registered cache policy passes one shared conformance test."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.policies import POLICIES, make_policy


@pytest.mark.parametrize("name", sorted(POLICIES))
@settings(max_examples=60, deadline=None)
@given(t=st.integers(0, 300), budget=st.integers(1, 320), seed=st.integers(0, 2**16))
def test_policy_conformance(name, t, budget, seed):
    policy = make_policy(name)
    scores = np.random.default_rng(seed).random(t + 2)
    kept = policy.keep(t, budget, scores)
    assert kept.size == min(budget, t + 1)  # budget respected, and used in full
    assert kept[-1] == t and kept[0] >= 0  # the query is kept; positions are in range
    assert np.all(np.diff(kept) > 0)  # sorted, no repeats
    np.testing.assert_array_equal(kept, policy.keep(t, budget, scores))  # deterministic
    if policy.suffix_only:
        np.testing.assert_array_equal(kept, np.arange(t - kept.size + 1, t + 1))


def test_random_k_is_seeded():
    a, b = make_policy("random", seed=1), make_policy("random", seed=2)
    assert not np.array_equal(a.keep(200, 20), b.keep(200, 20))
    np.testing.assert_array_equal(a.keep(200, 20), make_policy("random", seed=1).keep(200, 20))


def test_only_sliding_is_suffix_only():
    assert [n for n, cls in POLICIES.items() if cls.suffix_only] == ["sliding"]


def test_score_policies_use_their_scores():
    scores = np.zeros(50)
    scores[[3, 7, 11]] = 1.0
    assert set(make_policy("heavy").keep(40, 4, scores)) == {3, 7, 11, 40}
    # budget 6: a recent half {38, 39, 40} and the three heaviest earlier positions
    assert set(make_policy("h2o").keep(40, 6, scores)) == {3, 7, 11, 38, 39, 40}


def test_bad_policy_input():
    with pytest.raises(ValueError, match="unknown policy 'lru'"):
        make_policy("lru")
    with pytest.raises(ValueError, match="bad parameters for policy 'sink'"):
        make_policy("sink", n_sinks=3)
    with pytest.raises(ValueError, match="needs attention scores"):
        make_policy("heavy").keep(10, 3)
    with pytest.raises(ValueError, match="budget must be >= 1"):
        make_policy("sliding").keep(10, 0)
