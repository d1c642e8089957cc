"""The engine on six architectures (tests/validation/zoo.py), in every mode and positions flag.

Each reference is computed another way than the path under test: the full law by the model's
own masks, kept-set laws by a hand-built mask over the whole prefix, evict by one cache edit per
pair, online by the token-by-token decoder, and the sliding-window rule by a case where the
answer is known without any mask (sinks out of every window change nothing).
"""

import numpy as np
import pytest
import torch

from tests.validation.zoo import FAMILIES, RELATIVE, WINDOW, zoo_model
from validation.engine import Engine
from validation.policies import make_policy

L, N_TARGETS = 40, 4
BUDGETS = [1, 3, 6, 11, 20]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def setup(request):
    lm = zoo_model(request.param)
    engine = Engine(lm, max_batch_tokens=256)
    tokens = np.random.default_rng(1).integers(0, 255, L)
    return request.param, engine, engine.context(tokens, N_TARGETS)


def column(rows, name="tv"):
    return np.array([r[name] for r in sorted(rows, key=lambda r: (r["t"], r["budget"]))])


def run(engine, ctx, mode, policy, budgets, **kw):
    if mode.startswith("recompute"):
        return engine.recompute(ctx, policy, budgets, mode.split("-")[1], **kw)
    return getattr(engine, mode)(ctx, policy, budgets, **kw)


def test_full_law_equals_the_models_own_forward(setup):
    """The engine's explicit masks reproduce the model's native (sequence-index) masks on the full prefix."""
    _, engine, ctx = setup
    with torch.inference_mode():
        logits = engine.model(input_ids=torch.as_tensor(ctx.tokens)[None]).logits[0, -N_TARGETS:]
    native = torch.softmax(logits.double(), -1)
    assert float((native - ctx.full.p).abs().sum(-1).max()) / 2 < 1e-6


@pytest.mark.parametrize("mode", ["recompute-preserved", "recompute-reindexed", "evict", "online"])
@pytest.mark.parametrize("policy", ["sliding", "sink"])
def test_a_budget_of_the_whole_context_reproduces_the_full_law(setup, mode, policy):
    _, engine, ctx = setup
    assert column(run(engine, ctx, mode, make_policy(policy), [L])).max() < 1e-6


def hand_masked(engine, ctx, kept, t):
    """The law at t from a forward of the whole prefix 0..t whose mask lets every kept position
    attend to the kept positions before it (sliding layers: within W positions), built here."""
    model = engine.model
    cfg = model.config.get_text_config()
    n = t + 1
    k = np.zeros((n, n), dtype=bool)
    k[np.ix_(kept, kept)] = True
    k &= np.tri(n, dtype=bool)
    k |= np.eye(n, dtype=bool)  # rows outside the kept set see themselves only; the target never reads them
    dist = np.arange(n)[:, None] - np.arange(n)[None, :]
    types = getattr(cfg, "layer_types", None) or (
        ["sliding_attention" if getattr(cfg, "sliding_window", None) else "full_attention"])
    masks = {}
    for kind in set(types):
        allowed = k & (dist < cfg.sliding_window) if kind == "sliding_attention" else k
        masks[kind] = torch.where(torch.from_numpy(allowed), 0.0, float("-inf"))[None, None]
    mask = masks if len(masks) > 1 else next(iter(masks.values()))
    with torch.inference_mode():
        out = model(input_ids=torch.as_tensor(ctx.tokens[:n])[None], attention_mask=mask,
                    position_ids=torch.arange(n)[None])
    return torch.softmax(out.logits[0, -1].double(), -1)


@pytest.mark.parametrize("policy", ["sliding", "sink", "random"])
def test_recompute_engines_equal_a_hand_built_mask_over_the_prefix(setup, policy):
    _, engine, ctx = setup
    p = make_policy(policy)
    naive = engine.recompute(ctx, p, BUDGETS, "preserved", method="naive")
    engines = [naive]
    if p.anchored_head() is not None:
        engines.append(engine.recompute(ctx, p, BUDGETS, "preserved", method="anchored"))
    for rows in engines:
        for r in rows:
            q = hand_masked(engine, ctx, engine.keep(ctx, p, r["t"], r["budget"]), r["t"])
            tv = 0.5 * float((ctx.full.p[ctx.targets.index(r["t"])] - q).abs().sum())
            assert tv == pytest.approx(r["tv"], rel=0, abs=1e-6)


@pytest.mark.parametrize("positions", ["preserved", "reindexed"])
def test_anchored_equals_naive(setup, positions):
    _, engine, ctx = setup
    p = make_policy("sink", n_sink=2)
    a = engine.recompute(ctx, p, BUDGETS, positions, method="anchored")
    b = engine.recompute(ctx, p, BUDGETS, positions, method="naive")
    np.testing.assert_allclose(column(a), column(b), rtol=0, atol=1e-6)


@pytest.mark.parametrize("policy", ["sliding", "sink", "random", "heavy"])
def test_masked_evict_equals_one_cache_edit_per_pair(setup, policy):
    _, engine, ctx = setup
    p = make_policy(policy)
    if p.scores is not None:
        ctx = engine.context(ctx.tokens, N_TARGETS, scores=True)
    a, b = engine.evict(ctx, p, BUDGETS, method="masked"), engine.evict(ctx, p, BUDGETS, method="pairs")
    np.testing.assert_allclose(column(a), column(b), rtol=0, atol=1e-6)


@pytest.mark.parametrize("policy", ["sliding", "sink"])
def test_banded_online_equals_the_token_by_token_decoder(setup, policy):
    _, engine, ctx = setup
    p = make_policy(policy)
    a, b = engine.online(ctx, p, BUDGETS, method="masked"), engine.online(ctx, p, BUDGETS, method="tokens")
    np.testing.assert_allclose(column(a), column(b), rtol=0, atol=1e-6)


def test_sliding_windows_agree_across_position_flags_only_for_relative_positions(setup):
    family, engine, ctx = setup
    p = make_policy("sliding")
    pres = column(engine.recompute(ctx, p, BUDGETS, "preserved"))
    reidx = column(engine.recompute(ctx, p, BUDGETS, "reindexed"))
    if family in RELATIVE:
        np.testing.assert_allclose(pres, reidx, rtol=0, atol=1e-5)
    else:
        assert np.abs(pres - reidx).max() > 1e-3


@pytest.mark.parametrize("mode", ["recompute-preserved", "evict", "online"])
def test_sinks_outside_every_sliding_window_change_nothing(mode):
    """Mistral slides at every layer: sinks at 0..3, seen from positions >= W + 4, are masked by
    their original positions, so sink+recent equals the recent part alone (no mask needed to know)."""
    engine = Engine(zoo_model("mistral"), max_batch_tokens=256)
    ctx = engine.context(np.random.default_rng(2).integers(0, 255, L), N_TARGETS)
    budget = 4 + 8  # the recent run starts at t - 7 >= 36 - 7 > W + 3
    assert L - N_TARGETS - 7 > WINDOW + 3
    sink = column(run(engine, ctx, mode, make_policy("sink", n_sink=4), [budget]))
    recent = column(run(engine, ctx, mode, make_policy("sliding"), [budget - 4]))
    assert sink.max() > 1e-3  # a real truncation
    np.testing.assert_allclose(sink, recent, rtol=0, atol=1e-6)


def test_the_rule_would_fail_if_sliding_layers_masked_by_sequence_index():
    """The known answer above is not vacuous: by sequence index the sinks sit inside the window."""
    engine = Engine(zoo_model("mistral"), max_batch_tokens=256)
    ctx = engine.context(np.random.default_rng(2).integers(0, 255, L), N_TARGETS)
    t = ctx.targets[0]
    kept = engine.keep(ctx, make_policy("sink", n_sink=4), t, 12)
    with torch.inference_mode():  # the model's own mask on the kept tokens: by sequence index
        logits = engine.model(input_ids=torch.as_tensor(ctx.tokens[kept])[None],
                              position_ids=torch.as_tensor(kept)[None]).logits[0, -1]
    recent = column(engine.recompute(ctx, make_policy("sliding"), [8], "preserved"))[0]
    tv = 0.5 * float((ctx.full.p[0] - torch.softmax(logits.double(), -1)).abs().sum())
    assert abs(tv - recent) > 1e-4


def test_score_policies_get_attention_weights_or_a_clear_error(setup):
    family, engine, ctx = setup
    scored = engine.context(ctx.tokens, N_TARGETS, scores=True)
    assert scored.attention.shape == (L, L) and np.allclose(scored.attention.sum(1), engine.lm.kv.n_layers * 4)
    np.testing.assert_allclose(scored.full.p.numpy(), ctx.full.p.numpy(), rtol=0, atol=1e-9)
    blind = Engine(zoo_model(family), max_batch_tokens=256)
    blind.lm.set_attention = lambda implementation: None  # stays on SDPA, which returns no weights
    with pytest.raises(ValueError, match="exposes no attention weights"):
        blind.context(ctx.tokens, N_TARGETS, scores=True)


GEOMETRY = {"llama": (2, 2, 8), "qwen2": (3, 2, 8), "mistral": (2, 2, 8), "gemma3": (3, 2, 8), "gpt2": (2, 4, 8),
            "phi3": (2, 2, 8)}  # (layers, KV heads, head dim) as configured in zoo.py


def test_geometry_and_layout_are_read_from_each_config(setup):
    family, engine, _ = setup
    kv = engine.lm.kv
    assert (kv.n_layers, kv.n_kv_heads, kv.head_dim) == GEOMETRY[family]
    sliding = {"qwen2": (1, 2), "mistral": (0, 1), "gemma3": (0, 2)}.get(family, ())
    layout = engine.layout
    assert [i for i, kind in enumerate(layout.layer_types) if kind == "sliding_attention"] == list(sliding)
    assert layout.sliding_window == (WINDOW if sliding else None)
