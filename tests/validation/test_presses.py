"""kvpress presses as policies (validation.policies.presses), in the environment that has kvpress.

References: the full-context law (compression 0), kvpress's own arithmetic for the kept count
(int(t (1 - ratio))), and our sink+recent policy, which keeps the same entries as kvpress's
StreamingLLMPress by a different code path (a mask over the prefill cache, not a pruned cache).
"""

import numpy as np
import pytest

pytest.importorskip("kvpress")

from tests.validation.zoo import zoo_model  # noqa: E402
from validation.data.bos import Bos
from validation.engine import Engine  # noqa: E402
from validation.policies import make_policy, parse_policy  # noqa: E402
from validation.policies.presses import DEFAULT_PRESSES, KvPress  # noqa: E402
from validation.testing.tiny import BOS, tiny_model  # noqa: E402
from wzbounds.memory import KVGeometry  # noqa: E402

L, N_TARGETS = 100, 2  # longer than the 64-query windows of SnapKV and PyramidKV


def tv(rows):
    return np.array([r["tv"] for r in sorted(rows, key=lambda r: (r["t"], r["budget"]))])


@pytest.fixture(scope="module")
def llama():
    engine = Engine(tiny_model(layers=2))
    return engine, engine.context(np.random.default_rng(0).integers(0, 255, L), N_TARGETS)


@pytest.mark.parametrize("spec", DEFAULT_PRESSES)
def test_compression_zero_is_the_full_law(llama, spec):
    """A budget covering the prefix is compression ratio 0: the law is the full-context law; a small
    budget is not (the press ran)."""
    engine, ctx = llama
    policy = parse_policy(f"kvpress:{spec}")
    assert policy.compression_ratio(ctx.targets[0], L + 1) == 0.0
    assert np.all(tv(engine.evict(ctx, policy, [L + 1])) < 1e-6)
    assert np.all(tv(engine.evict(ctx, policy, [8])) > 1e-5)


@pytest.mark.parametrize("family", ["llama", "qwen2", "mistral", "gemma3", "phi3"])
def test_compression_zero_on_every_architecture_kvpress_supports(family):
    engine = Engine(zoo_model(family))
    ctx = engine.context(np.random.default_rng(1).integers(0, 255, 30), 2)
    for spec in ("StreamingLLMPress", "SnapKVPress", "KnormPress"):
        assert np.all(tv(engine.evict(ctx, parse_policy(f"kvpress:{spec}"), [40])) < 1e-6), (family, spec)


@pytest.mark.parametrize("bos", [False, True])
def test_the_ratio_keeps_exactly_the_budget(bos):
    """kvpress keeps int(t (1 - ratio)) entries: the budget's k - 1 text entries (+ BOS), every t, k."""
    for t in range(1 + bos, 300, 7):
        for k in range(1, t + 3):
            ratio = KvPress.compression_ratio(t, k, bos)
            want = min(k - 1, t - bos) + bos
            assert int(t * (1 - ratio)) == want if ratio > 0 else want == t, (t, k, ratio)
            assert round(t * (1 - ratio)) == want if ratio > 0 else True, (t, k, ratio)  # PyramidKV's fallback


def test_streamingllm_keeps_what_sink_recent_keeps(llama):
    """kvpress's StreamingLLMPress (pruned cache) and our sink policy (masked prefill cache) keep
    the same entries, so their laws agree."""
    engine, ctx = llama
    budgets = [6, 9, 17, 30]
    press = tv(engine.evict(ctx, parse_policy("kvpress:StreamingLLMPress,n_sink=4"), budgets))
    sink = tv(engine.evict(ctx, make_policy("sink", n_sink=4), budgets))
    assert np.allclose(press, sink, atol=1e-5)


def test_a_press_with_a_bos_keeps_the_budget():
    lm = tiny_model(bos=True)
    engine = Engine(lm)
    tokens = np.concatenate([[BOS], np.random.default_rng(3).integers(0, 255, 30)])
    ctx = engine.context(tokens, 2, bos=Bos("always", BOS))
    assert np.all(tv(engine.evict(ctx, parse_policy("kvpress:StreamingLLMPress"), [31])) < 1e-6)
    press = tv(engine.evict(ctx, parse_policy("kvpress:StreamingLLMPress,n_sink=1"), [5, 12]))
    sink = tv(engine.evict(ctx, make_policy("sink", n_sink=0), [5, 12]))  # the BOS is the one sink
    assert np.allclose(press, sink, atol=1e-5)


def test_head_wise_presses_leave_no_mask_behind(llama):
    """AdaKV masks pruned keys through module attributes that kvpress's attention patch reads at
    the next decode; after a press the engine clears them, so later measurements are untouched."""
    engine, ctx = llama
    before = tv(engine.evict(ctx, make_policy("sliding"), [5, 20]))
    engine.evict(ctx, parse_policy("kvpress:AdaKVPress,press=SnapKVPress"), [10])
    assert np.array_equal(tv(engine.evict(ctx, make_policy("sliding"), [5, 20])), before)


def test_press_bytes_are_the_budget():
    geometry = KVGeometry(30, 3, 64, 4.0)
    assert parse_policy("kvpress:SnapKVPress").cache_bytes(255, 64, geometry) == 64 * 46080
    assert parse_policy("kvpress:SnapKVPress").cache_bytes(256, 64, geometry, bos=True) == 65 * 46080


@pytest.mark.parametrize(("spec", "match"), [
    ("kvpress:NoSuchPress", "no press"),
    ("kvpress:SnapKVPress,window=3", "not a parameter"),
    ("kvpress:SnapKVPress,compression_ratio=0.5", "the budget sets compression_ratio"),
    ("kvpress:SnapKVPress,window_size=x", "window_size"),
    ("kvpress:AdaKVPress", "press=<InnerPress>"),
    ("kvpress:ThinKPress", "cannot be set"),
    ("kvpress:", "name the press"),
])
def test_bad_press_specs_are_refused(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_policy(spec)


@pytest.mark.parametrize("spec", DEFAULT_PRESSES)
def test_replayed_press_equals_a_prefill_under_the_press(llama, spec):
    """The fast path replays the press's hook on one recorded prefill; the reference prefills under
    the press once per budget: the same laws."""
    engine, ctx = llama
    policy = parse_policy(f"kvpress:{spec}")
    budgets = [3, 9, 30, 70]
    replay = tv(engine.evict(ctx, policy, budgets, method="replay"))
    prefill = tv(engine.evict(ctx, policy, budgets, method="prefill"))
    assert np.allclose(replay, prefill, atol=1e-6), (replay, prefill)


def test_a_model_kvpress_cannot_hook_is_refused_by_name():
    engine = Engine(zoo_model("gpt2"))
    ctx = engine.context(np.arange(20) % 200, 1)
    with pytest.raises(ValueError, match="no model.layers"):
        engine.evict(ctx, parse_policy("kvpress:KnormPress"), [4])


def stored_per_layer(engine, ctx, policy, t, budget):
    """Entries each layer holds after the press compressed x_0..x_{t-1}, replayed as the engine does."""
    import torch
    from transformers import DynamicCache

    calls, full = engine._recorded_prefill(torch.as_tensor(ctx.tokens)[None, :t])
    press = policy.at(t, budget, ctx.bos)
    cache = DynamicCache(ddp_cache_data=[(k.clone(), v.clone()) for k, v in full])
    with torch.inference_mode(), press(engine.model):
        for module, args, kwargs, output in calls:
            press.forward_hook(module, args, {**kwargs, "past_key_values": cache}, output)
    return [layer.keys.shape[-2] for layer in cache.layers]


def test_presses_are_configured_for_the_prefix():
    """Window-like defaults scaled by prefix / 4096 where the spec leaves them unset (inner presses too);
    PyramidKV's beta = floor(0.1 (512 - 1) / 8) = 6, so its smallest layer budget stays above its window."""
    from validation.policies.presses import for_prefix

    assert for_prefix("SnapKVPress", 512) == "SnapKVPress,window_size=8"
    assert for_prefix("SnapKVPress,window_size=32", 512) == "SnapKVPress,window_size=32"  # the user's value wins
    assert for_prefix("LagKVPress", 1024) == "LagKVPress,lag_size=32"
    assert for_prefix("PyramidKVPress", 512) == "PyramidKVPress,window_size=8,beta=6"
    assert for_prefix("ChunkKVPress,press=SnapKVPress", 512) == "ChunkKVPress,press=SnapKVPress,press.window_size=8"
    assert for_prefix("KnormPress", 512) == "KnormPress"
    inner = parse_policy("kvpress:ChunkKVPress,press=SnapKVPress,press.window_size=8").build(0.5)
    assert inner.press.window_size == 8 and inner.chunk_length == 20
    with pytest.raises(ValueError, match="'press.window' is not a parameter of SnapKVPress"):
        parse_policy("kvpress:ChunkKVPress,press=SnapKVPress,press.window=8")


def test_pyramidkv_configured_for_the_prefix_gives_each_layer_its_own_budget():
    """At 512 tokens and 75% compression (4 layers): kvpress's pyramid, largest at the first layer, as
    many entries as `kept_per_layer` counts (the bytes), about the budget on average; with kvpress's
    defaults (window 64, beta 20) the same budget falls back to one uniform budget."""
    from validation.policies.presses import for_prefix

    engine = Engine(tiny_model(layers=4))
    ctx = engine.context(np.random.default_rng(3).integers(0, 255, 512), 1)
    t, budget = 511, 129
    pyramid = parse_policy("kvpress:" + for_prefix("PyramidKVPress", 512))
    stored = stored_per_layer(engine, ctx, pyramid, t, budget)
    assert stored == pyramid.kept_per_layer(t, budget, 4) and stored == sorted(stored, reverse=True)
    assert len(set(stored)) == 4 and abs(np.mean(stored) - (budget - 1)) <= 2
    flat = parse_policy("kvpress:PyramidKVPress")
    assert stored_per_layer(engine, ctx, flat, t, budget) == [budget - 1] * 4 == flat.kept_per_layer(t, budget, 4)
    geometry = KVGeometry(4, 2, 32, 4.0)
    assert pyramid.cache_bytes(t, budget, geometry) == geometry.entry_bytes * (sum(stored) + 4)


def test_chunkkv_keeps_chunks_within_the_budget(llama):
    """A chunk longer than the budget would keep more than asked: the chunk is capped at the kept entries,
    and the stored entries never exceed the budget's nor `kept_per_layer`'s count (whole chunks: a layer
    that picks the short last chunk keeps fewer)."""
    engine, ctx = llama
    policy = parse_policy("kvpress:ChunkKVPress,press=SnapKVPress")
    t = ctx.targets[0]
    for budget in (2, 4, 9, 30, 70):
        stored = stored_per_layer(engine, ctx, policy, t, budget)
        counted = policy.kept_per_layer(t, budget, len(stored))
        assert max(stored) <= budget - 1 and all(s <= c for s, c in zip(stored, counted)), (budget, stored, counted)
        assert policy.at(t, budget).chunk_length == min(20, budget - 1)
