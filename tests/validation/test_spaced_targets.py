"""Targets spaced apart (several well-separated targets per prefix): every mode and method gives, at
each spaced target, exactly what the consecutive-target path gives at that position."""

import numpy as np
import pytest

from validation.data.bos import Bos
from validation.engine import Engine
from validation.policies import make_policy
from validation.testing.tiny import BOS, tiny_model

SPACING, N = 5, 3
L = 48


@pytest.fixture(scope="module")
def contexts():
    engine = Engine(tiny_model(layers=2), max_batch_tokens=256)
    tokens = np.random.default_rng(3).integers(0, 256, size=L)
    spaced = engine.context(tokens, N, scores=True, spacing=SPACING)
    every = engine.context(tokens, (N - 1) * SPACING + 1, scores=True)  # consecutive, covering the spaced ones
    return engine, spaced, every


def rows_at(rows, targets):
    return {(r["t"], r["budget"]): (r["tv"], r["kl_0.1"]) for r in rows if r["t"] in targets}


RUNS = [("recompute", "sliding", "anchored"), ("recompute", "sliding", "naive"), ("recompute", "sink", "anchored"),
        ("recompute", "heavy", "naive"), ("evict", "sliding", "masked"), ("evict", "snapkv", "pairs"),
        ("evict", "h2o", "masked"), ("evict", "merge", "auto"), ("online", "sliding", "masked"),
        ("online", "sink", "masked"), ("online", "sink", "tokens")]


@pytest.mark.parametrize(("mode", "spec", "method"), RUNS, ids=["-".join(r) for r in RUNS])
def test_spaced_targets_equal_the_consecutive_path(contexts, mode, spec, method):
    engine, spaced, every = contexts
    assert spaced.targets == (L - 1 - 2 * SPACING, L - 1 - SPACING, L - 1)
    policy, budgets = make_policy(spec), [1, 3, 8, 40]

    def run(ctx):
        if mode == "recompute":
            return engine.recompute(ctx, policy, budgets, "preserved", method=method)
        return getattr(engine, mode)(ctx, policy, budgets, method=method)

    got, want = rows_at(run(spaced), spaced.targets), rows_at(run(every), spaced.targets)
    assert sorted(got) == sorted(want) and len(got) == N * len(budgets)
    np.testing.assert_allclose([got[k] for k in sorted(got)], [want[k] for k in sorted(want)], rtol=0, atol=1e-7)


def test_spaced_targets_with_a_bos_and_the_bounds_of_the_prefix():
    engine = Engine(tiny_model(bos=True), max_batch_tokens=256)
    tokens = np.concatenate([[BOS], np.random.default_rng(4).integers(0, 256, size=21)])
    ctx = engine.context(tokens, 3, bos=Bos("always", BOS), spacing=10)
    assert ctx.targets == (1, 11, 21)  # the first text position after the BOS, at the earliest
    with pytest.raises(ValueError, match="4 targets 10 apart do not fit a prefix of 22 tokens after its BOS"):
        engine.context(tokens, 4, bos=Bos("always", BOS), spacing=10)
    with pytest.raises(ValueError, match="target spacing must be a whole number >= 1"):
        engine.context(tokens, 2, spacing=0)
