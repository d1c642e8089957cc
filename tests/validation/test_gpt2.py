"""A GPT-2-style model (learned absolute positions, n_layer/n_head/n_embd config names) in the engine:
the first family beyond Llama; the architecture zoo of the engine issue grows from here."""

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from tests.validation.tiny import VOCAB, ByteTokenizer
from validation.geometry import kv_geometry
from validation.measure import Engine
from validation.models import LoadedModel
from validation.policies import make_policy


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=VOCAB, n_layer=2, n_head=4, n_embd=32, n_positions=256, bos_token_id=None,
                        eos_token_id=None)
    model = GPT2LMHeadModel(config).eval()
    lm = LoadedModel(model, ByteTokenizer(), "tiny-gpt2", "memory", torch.device("cpu"), "float32",
                     kv_geometry(model.config, dtype="float32"), 256, "no BOS added")
    engine = Engine(lm, max_batch_tokens=512)
    tokens = np.random.default_rng(1).integers(0, VOCAB, 64)
    return engine, engine.context(tokens, 6)


def column(rows):
    return np.array([r["tv"] for r in sorted(rows, key=lambda r: (r["t"], r["budget"]))])


def test_geometry_is_read_from_gpt2_names(setup):
    engine, _ = setup
    kv = engine.lm.kv
    assert (kv.n_layers, kv.n_kv_heads, kv.head_dim) == (2, 4, 8)


@pytest.mark.parametrize("mode", ["recompute-preserved", "recompute-reindexed", "evict", "online"])
def test_keeping_everything_reproduces_the_full_law(setup, mode):
    engine, ctx = setup
    policy = make_policy("sliding")
    rows = {"recompute-preserved": lambda: engine.recompute(ctx, policy, [64], "preserved"),
            "recompute-reindexed": lambda: engine.recompute(ctx, policy, [64], "reindexed"),
            "evict": lambda: engine.evict(ctx, policy, [64]),
            "online": lambda: engine.online(ctx, policy, [64])}[mode]()
    assert column(rows).max() < 1e-6


def test_absolute_positions_make_preserved_and_reindexed_windows_differ(setup):
    """With learned absolute positions a re-indexed window is a different input, unlike RoPE."""
    engine, ctx = setup
    pres = column(engine.recompute(ctx, make_policy("sliding"), [8, 16], "preserved"))
    reidx = column(engine.recompute(ctx, make_policy("sliding"), [8, 16], "reindexed"))
    assert not np.allclose(pres, reidx, atol=1e-4)


@pytest.mark.parametrize("positions", ["preserved", "reindexed"])
def test_anchored_engine_equals_naive_recompute(setup, positions):
    engine, ctx = setup
    p = make_policy("sink")
    a = engine.recompute(ctx, p, [2, 5, 9, 17], positions, engine="anchored")
    b = engine.recompute(ctx, p, [2, 5, 9, 17], positions, engine="naive")
    np.testing.assert_allclose(column(a), column(b), atol=1e-6)


@pytest.mark.parametrize("mode", ["evict", "online"])
def test_masked_modes_equal_their_references(setup, mode):
    engine, ctx = setup
    p = make_policy("sink")
    if mode == "evict":
        a, b = engine.evict(ctx, p, [2, 5, 9, 17], engine="masked"), engine.evict(ctx, p, [2, 5, 9, 17], engine="pairs")
    else:
        a, b = engine.online(ctx, p, [2, 5, 9, 17], engine="masked"), engine.online(ctx, p, [2, 5, 9, 17],
                                                                                    engine="tokens")
    np.testing.assert_allclose(column(a), column(b), rtol=0, atol=1e-7)
