"""BOS as the model expects: every context, full and kept, starts with it at position 0, and the
budget counts the text tokens after it."""

import json

import numpy as np
import pytest
import torch

from tests.validation.tiny import BOS, tiny_model
from validation.corpora import folder_corpus
from validation.measure import Engine
from validation.policies import make_policy
from validation.protocol import Protocol, run

L = 40


@pytest.fixture(scope="module")
def setup():
    engine = Engine(tiny_model(bos=True), max_batch_tokens=512)
    text = np.random.default_rng(3).integers(0, 255, L)
    return engine, engine.context(np.concatenate([[BOS], text]), 4, bos=True)


def test_every_kept_context_starts_with_bos_outside_the_budget(setup):
    engine, ctx = setup
    t = ctx.targets[0]
    assert engine.keep(ctx, make_policy("sliding"), t, 5).tolist() == [0, *range(t - 4, t + 1)]
    assert engine.keep(ctx, make_policy("sink", n_sink=2), t, 5).tolist() == [0, 1, 2, t - 2, t - 1, t]
    assert engine.keep(ctx, make_policy("sliding"), 0, 5).tolist() == [0]


def test_a_window_with_bos_equals_the_models_own_forward_on_bos_plus_window(setup):
    engine, ctx = setup
    rows = engine.recompute(ctx, make_policy("sliding"), [1, 6], "preserved")
    for r in rows:
        t, k = r["t"], r["budget"]
        kept = [0, *range(t - k + 1, t + 1)]
        with torch.inference_mode():
            logits = engine.model(input_ids=torch.as_tensor(ctx.tokens[kept])[None],
                                  position_ids=torch.as_tensor(kept)[None]).logits[0, -1]
        q = torch.softmax(logits.double(), -1)
        tv = 0.5 * float((ctx.full.p[ctx.targets.index(t)] - q).abs().sum())
        assert r["tv"] == pytest.approx(tv, rel=0, abs=1e-6)


@pytest.mark.parametrize("mode", ["recompute", "evict", "online"])
def test_bos_in_every_mode(setup, mode):
    engine, ctx = setup
    p = make_policy("sink", n_sink=2)
    call = {"recompute": lambda b, **kw: engine.recompute(ctx, p, b, "preserved", **kw),
            "evict": lambda b, **kw: engine.evict(ctx, p, b, **kw),
            "online": lambda b, **kw: engine.online(ctx, p, b, **kw)}[mode]
    assert max(r["tv"] for r in call([L])) < 1e-6  # the whole text and the BOS: the full law
    fast, reference = {"recompute": ("anchored", "naive"), "evict": ("masked", "pairs"),
                       "online": ("masked", "tokens")}[mode]
    a = [r["tv"] for r in call([1, 3, 7], method=fast)]
    b = [r["tv"] for r in call([1, 3, 7], method=reference)]
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("rule, expected", [("auto", BOS), ("always", BOS), ("never", None)])
def test_the_rule_is_applied_and_recorded(tmp_path, corpus_dir, rule, expected):  # noqa: F811
    protocol = Protocol(model="tiny", domain="tiny", policies=("sliding",), budgets=(2, 8), prefixes=2,
                        prefix_length=32, targets=2, mus=(0.1,), bos=rule)
    lm = tiny_model(bos=True)
    store = run(protocol, tmp_path, lm=lm, corpus=folder_corpus(corpus_dir), progress=False)
    assert json.loads((tmp_path / "manifest.json").read_text())["config"]["bos_token"] == expected
    table = store.table()
    engine = Engine(lm)
    from validation.corpora import select_prefixes

    prefix = next(p for p in select_prefixes(folder_corpus(corpus_dir), lm.encode, 2, 32, 0)
                  if p.doc_id == table["doc"][0])
    tokens = ((expected,) if expected is not None else ()) + prefix.tokens
    ctx = engine.context(tokens, 2, bos=expected is not None)
    direct = engine.recompute(ctx, make_policy("sliding"), [2, 8], "preserved")
    sel = table["doc"] == prefix.doc_id
    np.testing.assert_allclose(np.sort(table["tv"][sel]), np.sort([r["tv"] for r in direct]), rtol=0, atol=1e-9)


def test_always_needs_a_bos_token():
    with pytest.raises(ValueError, match="has no BOS token"):
        tiny_model().bos_token("always")
