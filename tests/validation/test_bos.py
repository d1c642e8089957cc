"""BOS as the model expects: every context, full and kept, starts with it at position 0, and the
budget counts the text tokens after it."""

import json

import numpy as np
import pytest
import torch

from validation.data.bos import Bos
from validation.data.corpora import folder_corpus
from validation.engine import Engine
from validation.policies import make_policy
from validation.runs.protocol import Protocol, run
from validation.testing.tiny import BOS, tiny_model

L = 40


@pytest.fixture(scope="module")
def setup():
    engine = Engine(tiny_model(bos=True), max_batch_tokens=512)
    text = np.random.default_rng(3).integers(0, 255, L)
    return engine, engine.context(np.concatenate([[BOS], text]), 4, bos=Bos("always", BOS))


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
    from validation.data.corpora import select_prefixes

    prefix = next(p for p in select_prefixes(folder_corpus(corpus_dir), lm.encode, 2, 32, 0)
                  if p.doc_id == table["doc"][0])
    tokens = ((expected,) if expected is not None else ()) + prefix.tokens
    ctx = engine.context(tokens, 2, bos=lm.resolve_bos(rule))
    direct = engine.recompute(ctx, make_policy("sliding"), [2, 8], "preserved")
    sel = table["doc"] == prefix.doc_id
    np.testing.assert_allclose(np.sort(table["tv"][sel]), np.sort([r["tv"] for r in direct]), rtol=0, atol=1e-9)


def test_always_needs_a_bos_token():
    with pytest.raises(ValueError, match="has no BOS token"):
        tiny_model().resolve_bos("always")


def test_one_bos_type_from_the_rule_to_the_report():
    assert Bos.of("auto") == Bos("auto") and Bos.of(Bos("never")) == Bos("never")
    lm = tiny_model(bos=True)
    assert lm.resolve_bos("auto") == Bos("auto", BOS) and int(lm.resolve_bos("auto")) == 1
    assert lm.resolve_bos("never") == Bos("never") and not lm.resolve_bos("never") and int(Bos("never")) == 0
    assert [lm.resolve_bos(r).describe() for r in ("auto", "always", "never")] == [
        f"tokenizer adds BOS (id {BOS})", f"BOS (id {BOS}) put first in every context (--bos always)",
        "no BOS (--bos never)"]
    assert tiny_model().resolve_bos("auto").describe() == "no BOS added"
    with pytest.raises(ValueError, match="bos must be one of auto, always, never; got 'sometimes'"):
        Bos("sometimes")
    assert Protocol(bos="always").bos == Bos("always")  # a protocol holds the rule; the token comes with the model
