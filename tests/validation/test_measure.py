"""Exactness of the measurement engine on a tiny random transformers model."""

import numpy as np
import pytest
import torch

import wzbounds as wz
from validation.engine import Engine, FullSide
from validation.policies import make_policy
from validation.testing.tiny import VOCAB, tiny_model

BUDGETS = [1, 2, 3, 5, 9, 17, 33]


@pytest.fixture(scope="module")
def setup():
    lm = tiny_model()
    engine = Engine(lm, max_batch_tokens=512)
    tokens = np.random.default_rng(0).integers(0, VOCAB, 72)
    return engine, engine.context(tokens, 10, scores=True)


def column(rows, name="tv"):
    return np.array([r[name] for r in sorted(rows, key=lambda r: (r["t"], r["budget"]))])


@pytest.mark.parametrize("policy", ["sliding", "sink"])
@pytest.mark.parametrize("positions", ["preserved", "reindexed"])
def test_anchored_engine_equals_naive_recompute(setup, policy, positions):
    engine, ctx = setup
    p = make_policy(policy)
    a = engine.recompute(ctx, p, BUDGETS, positions, method="anchored")
    b = engine.recompute(ctx, p, BUDGETS, positions, method="naive")
    np.testing.assert_allclose(column(a), column(b), atol=1e-6)
    np.testing.assert_allclose(column(a, "kl_0.1"), column(b, "kl_0.1"), atol=1e-6)


def test_keeping_everything_reproduces_the_full_law(setup):
    engine, ctx = setup
    everything = [72]
    for rows in (
        engine.recompute(ctx, make_policy("random"), everything, "preserved"),
        engine.evict(ctx, make_policy("heavy"), everything),
        engine.online(ctx, make_policy("sliding"), everything),
    ):
        assert column(rows).max() < 1e-6


def test_sliding_windows_agree_across_position_flags_and_gapped_policies_do_not(setup):
    engine, ctx = setup
    for name, same in (("sliding", True), ("sink", False), ("random", False)):
        pres = column(engine.recompute(ctx, make_policy(name), [8, 16], "preserved"))
        reidx = column(engine.recompute(ctx, make_policy(name), [8, 16], "reindexed"))
        assert np.allclose(pres, reidx, atol=1e-6) == same, name


def test_evict_and_online_differ_from_recompute_when_tokens_are_evicted(setup):
    engine, ctx = setup
    rec = column(engine.recompute(ctx, make_policy("sliding"), [4, 8], "preserved"))
    ev = column(engine.evict(ctx, make_policy("sliding"), [4, 8]))
    on = column(engine.online(ctx, make_policy("sliding"), [4, 8]))
    assert not np.allclose(rec, ev, atol=1e-6) and not np.allclose(rec, on, atol=1e-6)


@pytest.mark.parametrize("policy", ["sliding", "sink", "random", "heavy", "h2o", "snapkv"])
def test_evict_in_one_masked_forward_equals_one_cache_edit_per_pair(setup, policy):
    engine, ctx = setup
    p = make_policy(policy)
    masked = engine.evict(ctx, p, BUDGETS + [72], method="masked")
    pairs = engine.evict(ctx, p, BUDGETS + [72], method="pairs")
    assert [(r["t"], r["budget"]) for r in masked] == [(r["t"], r["budget"]) for r in pairs]
    np.testing.assert_allclose(column(masked), column(pairs), rtol=0, atol=1e-7)
    np.testing.assert_allclose(column(masked, "kl_0.1"), column(pairs, "kl_0.1"), rtol=0, atol=1e-7)


@pytest.mark.parametrize("policy", ["sliding", "sink"])
def test_banded_online_equals_the_token_by_token_decoder(setup, policy):
    engine, ctx = setup
    p = make_policy(policy)
    masked = engine.online(ctx, p, BUDGETS + [72], method="masked")
    tokens = engine.online(ctx, p, BUDGETS + [72], method="tokens")
    np.testing.assert_allclose(column(masked), column(tokens), rtol=0, atol=1e-7)
    np.testing.assert_allclose(column(masked, "kl_0.1"), column(tokens, "kl_0.1"), rtol=0, atol=1e-7)


def test_online_refuses_policies_that_readmit_evicted_entries(setup):
    engine, ctx = setup
    with pytest.raises(ValueError, match="static kept set"):
        engine.online(ctx, make_policy("random"), [4])


def test_evict_with_a_sliding_window_matches_a_hand_built_cache(setup):
    """For target t, keep positions t-3..t-1 of the prefilled cache and run x_t at position t."""
    engine, ctx = setup
    model = engine.model
    t = ctx.targets[0]
    ids = torch.as_tensor(ctx.tokens)[None]
    with torch.no_grad():
        past = model(input_ids=ids[:, :t], use_cache=True).past_key_values
        for layer in past.layers:
            layer.keys, layer.values = layer.keys[:, :, t - 3 : t], layer.values[:, :, t - 3 : t]
        out = model(input_ids=ids[:, t : t + 1], position_ids=torch.tensor([[t]]), past_key_values=past,
                    attention_mask=torch.ones(1, 4, dtype=torch.long))
    q = torch.softmax(out.logits[0, -1].double(), -1).numpy()
    p = ctx.full.p[0].cpu().numpy()
    row = [r for r in engine.evict(ctx, make_policy("sliding"), [4]) if r["t"] == t][0]
    assert row["tv"] == pytest.approx(float(wz.tv(p / p.sum(), q / q.sum())), abs=1e-6)


def test_divergences_match_the_theory_package():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(30), 5), rng.dirichlet(np.ones(30), 5)
    div = FullSide(torch.tensor(np.log(p)), [0.05, 0.5]).compare(list(range(5)), torch.tensor(np.log(q)))
    np.testing.assert_allclose(div["tv"], wz.tv(p, q), rtol=1e-12)
    np.testing.assert_allclose(div["kl_0.05"], wz.smoothed_kl(p, q, 0.05), rtol=1e-10)
    np.testing.assert_allclose(div["kl_0.5"], wz.smoothed_kl(p, q, 0.5), rtol=1e-10)


def test_llama_cpp_metrics_match_a_numpy_computation():
    """kld = KL(p || q) in nats, same_top = argmax agreement, excess_nll = log p(x) - log q(x) for the
    actual next token x (NaN where there is none), as llama.cpp's --kl-divergence reports them."""
    rng = np.random.default_rng(2)
    p, q = rng.dirichlet(np.ones(30) * 0.3, 6), rng.dirichlet(np.ones(30) * 0.3, 6)
    q[0] = p[0]  # identical laws: 0, agree, 0
    actual = [3, 7, -1, 0, 29, 11]
    div = FullSide(torch.tensor(np.log(p)), [0.1], actual).compare(list(range(6)), torch.tensor(np.log(q) + 2.0))
    want_kl = np.array([sum(a * np.log(a / b) for a, b in zip(pi, qi)) for pi, qi in zip(p, q)])
    np.testing.assert_allclose(div["kld"], want_kl, rtol=1e-10, atol=1e-14)
    assert div["kld"][0] == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_array_equal(div["same_top"], [float(np.argmax(a) == np.argmax(b)) for a, b in zip(p, q)])
    want_nll = [np.log(p[i, x]) - np.log(q[i, x]) if x >= 0 else np.nan for i, x in enumerate(actual)]
    np.testing.assert_allclose(div["excess_nll"], want_nll, rtol=1e-10)
    assert np.isnan(div["excess_nll"][2]) and div["same_top"][0] == 1.0
    with pytest.raises(ValueError, match="one actual next token per target"):
        FullSide(torch.tensor(np.log(p)), [0.1], [1, 2])


def test_the_actual_next_token_is_the_texts(setup):
    """Inside the prefix it is the next token; after the last one, `following` (else none: NaN). At a
    budget covering the prefix every metric is that of the full law: kld 0, same top token, excess 0."""
    engine, _ = setup
    tokens = np.random.default_rng(3).integers(0, VOCAB, 30)
    ctx = engine.context(tokens, 3, following=5)
    assert ctx.full.actual.tolist() == [int(tokens[28]), int(tokens[29]), 5]
    rows = engine.evict(ctx, make_policy("sliding"), [40])
    assert all(r["kld"] < 1e-6 and r["same_top"] == 1.0 and abs(r["excess_nll"]) < 1e-5 for r in rows)
    small = engine.evict(ctx, make_policy("sliding"), [2])
    assert all(r["kld"] > 0 for r in small)
    assert np.isnan(engine.context(tokens, 1).full.compare([0], torch.zeros(1, VOCAB))["excess_nll"][0])


def test_bad_requests_are_refused(setup):
    engine, ctx = setup
    with pytest.raises(ValueError, match="anchored engine serves policies with a fixed head"):
        engine.recompute(ctx, make_policy("random"), [4], "preserved", method="anchored")
    with pytest.raises(ValueError, match="positions must be one of"):
        engine.recompute(ctx, make_policy("sliding"), [4], "shifted")
    with pytest.raises(ValueError, match="online mode runs policies with a static kept set"):
        engine.online(ctx, make_policy("heavy"), [4])
    with pytest.raises(ValueError, match="exceeds the model's context"):
        engine.context(np.zeros(2000, dtype=int), 4)
