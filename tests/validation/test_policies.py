"""Every registered cache policy, in several settings, passes one table of conformance tests:
through `keep()`, and through every mode it supports on a tiny model (kvpress's one test table
for every press)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.engine import Engine
from validation.policies import (
    POLICIES,
    CachePolicy,
    hyperparameters,
    make_policy,
    parse_policy,
    register_policy,
    split_specs,
)
from validation.testing.tiny import VOCAB, tiny_model

SETTINGS = [  # every registered kept-set policy at least once, with defaults and with other hyperparameters
    "sliding", "sink", "sink:n_sink=1", "sink:n_sink=0", "random", "random:seed=7", "heavy", "h2o",
    "h2o:recent_fraction=0.25", "snapkv", "snapkv:window=3,kernel=1", "snapkv:window=16,kernel=7",
]


def test_the_table_covers_every_policy():
    """Kept-set policies here; summaries in test_summaries.py, presses in test_presses.py."""
    assert {spec.split(":")[0] for spec in SETTINGS} == {n for n, cls in POLICIES.items() if cls.kind == "kept"}
    assert {n for n, cls in POLICIES.items() if cls.kind != "kept"} == {"merge", "pooled", "multiscale", "quantized", "kivi",
                                                                          "kvpress"}


@pytest.mark.parametrize("spec", SETTINGS)
@settings(max_examples=40, deadline=None)
@given(t=st.integers(0, 300), budget=st.integers(1, 320), seed=st.integers(0, 2**16))
def test_policy_conformance(spec, t, budget, seed):
    policy = parse_policy(spec)
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


@pytest.fixture(scope="module")
def engine_and_context():
    engine = Engine(tiny_model(), max_batch_tokens=512)
    return engine, engine.context(np.random.default_rng(5).integers(0, VOCAB, 48), 5, scores=True)


def _tv(rows):
    return np.array([r["tv"] for r in sorted(rows, key=lambda r: (r["t"], r["budget"]))])


@pytest.mark.parametrize("spec", SETTINGS)
def test_policy_in_every_mode_it_supports(engine_and_context, spec):
    """A budget of the whole context is exact in every mode; each fast path equals its reference."""
    engine, ctx = engine_and_context
    policy = parse_policy(spec)
    budgets = [1, 4, 9, 20]
    for positions in ("preserved", "reindexed"):
        assert _tv(engine.recompute(ctx, policy, [48], positions)).max() < 1e-6
        naive = _tv(engine.recompute(ctx, policy, budgets, positions, method="naive"))
        if policy.anchored_head() is not None:
            anchored = _tv(engine.recompute(ctx, policy, budgets, positions, method="anchored"))
            np.testing.assert_allclose(anchored, naive, rtol=0, atol=1e-6)
    assert _tv(engine.evict(ctx, policy, [48])).max() < 1e-6
    np.testing.assert_allclose(_tv(engine.evict(ctx, policy, budgets, method="masked")),
                               _tv(engine.evict(ctx, policy, budgets, method="pairs")), rtol=0, atol=1e-6)
    if policy.static_online:
        assert _tv(engine.online(ctx, policy, [48])).max() < 1e-6
        np.testing.assert_allclose(_tv(engine.online(ctx, policy, budgets, method="masked")),
                                   _tv(engine.online(ctx, policy, budgets, method="tokens")), rtol=0, atol=1e-6)
    else:
        with pytest.raises(ValueError, match="online mode runs policies with a static kept set"):
            engine.online(ctx, policy, budgets)


def test_specs_carry_hyperparameters():
    assert split_specs("sliding,snapkv:window=16,kernel=7, sink:n_sink=2") == (
        "sliding", "snapkv:window=16,kernel=7", "sink:n_sink=2")
    assert hyperparameters(parse_policy("snapkv:window=16,kernel=7")) == {"policy": "snapkv", "window": 16, "kernel": 7}
    assert hyperparameters(parse_policy("h2o:recent_fraction=0.25")) == {"policy": "h2o", "recent_fraction": 0.25}
    assert parse_policy("random", defaults={"seed": 9}).seed == 9
    assert parse_policy("random:seed=2", defaults={"seed": 9}).seed == 2
    assert not hasattr(parse_policy("sliding", defaults={"seed": 9}), "seed")


@pytest.mark.parametrize("spec, message", [
    ("lru", "unknown policy 'lru'"),
    ("snapkv:foo=1", "'foo=1' is not key=value with a field of snapkv"),
    ("snapkv:window=x", "window='x' is not a int"),
    ("sink:n_sink", "'n_sink' is not key=value"),
    ("sink:n_sink=-1", "n_sink must be a whole number >= 0"),
    ("h2o:recent_fraction=0", "recent_fraction must be in"),
])
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_policy(spec)


def test_a_parameter_without_its_policy_is_refused():
    with pytest.raises(ValueError, match="'n_sink=8' is a parameter with no policy before it"):
        split_specs("sink,n_sink=8")


def test_user_policies_register_by_name():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class EveryOther(CachePolicy):
        name: ClassVar[str] = "test_every_other"

        def choose(self, t, budget, scores):
            older = np.arange(t - 2, -1, -2)[: budget - 1]
            return np.append(older, t)

    try:
        register_policy(EveryOther)
        assert parse_policy("test_every_other").keep(10, 3).tolist() == [6, 8, 10]
        with pytest.raises(ValueError, match="already registered"):
            register_policy(type("Other", (EveryOther,), {}))
    finally:
        POLICIES.pop("test_every_other", None)
    with pytest.raises(ValueError, match="CachePolicy or CacheSummary subclass"):
        register_policy(int)
