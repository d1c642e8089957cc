"""Propagating summaries (validation.policies.summaries): each checked against a computation of its own.

merge against a sequential simulation of the sliding window (one eviction at a time), pooled
against blocks written out by hand, quantized against the code-count and error bounds of an
n-bit quantizer, multiplicities against a cache holding the copies, and every summary at a
budget covering the prefix against the full-context law on the six architectures.
"""

import math

import numpy as np
import pytest
import torch

from tests.validation.zoo import FAMILIES, zoo_model
from validation.data.bos import Bos
from validation.engine import Engine
from validation.policies import make_policy, parse_policy
from validation.policies.quantizers import fake_quantize
from validation.runs.protocol import Protocol
from validation.testing.tiny import BOS, tiny_model
from wzbounds.memory import KVGeometry

SUMMARIES = ("merge", "pooled", "quantized", "pooled:block=3", "quantized:bits=4,group=8", "multiscale",
             "multiscale:block=1,sink=2", "kivi:group=4", "merge:bonus=false,sink=1")
L, N_TARGETS = 40, 3


def rows_tv(rows):
    return np.array([r["tv"] for r in sorted(rows, key=lambda r: (r["t"], r["budget"]))])


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def zoo(request):
    engine = Engine(zoo_model(request.param), max_batch_tokens=256)
    tokens = np.random.default_rng(2).integers(0, 255, L)
    return request.param, engine, engine.context(tokens, N_TARGETS)


@pytest.mark.parametrize("spec", SUMMARIES)
def test_a_budget_covering_the_prefix_gives_the_full_law(zoo, spec):
    """In every mode the summary runs in: evict, and online (carried through decoding) when streaming."""
    _, engine, ctx = zoo
    policy = parse_policy(spec)
    assert policy.modes == (("evict",) if spec.startswith("quantized") else ("evict", "online"))
    for mode in policy.modes:
        tv = rows_tv(getattr(engine, mode)(ctx, policy, [L, L + 5]))
        assert np.all(tv < 1e-6), (mode, tv)


def test_multiplicity_offsets_equal_a_cache_holding_the_copies(zoo):
    """An entry of mass 3 attends as 3 copies of it do, on every architecture (the hook finds every
    attention module, repeats KV heads over query heads, and leaves the query's own column alone)."""
    family, engine, ctx = zoo
    layers = engine._prefill(ctx)
    t = ctx.targets[-1]
    keep = torch.tensor([t - 10, t - 8, t - 5, t - 2, t - 1])  # inside every sliding window
    copies = torch.tensor([t - 10, t - 8, t - 8, t - 8, t - 5, t - 2, t - 1])
    ids = torch.as_tensor(ctx.tokens)[None]
    pos = torch.tensor([[t]])

    def forward(index, log_mass):
        from transformers import DynamicCache

        cache = DynamicCache(ddp_cache_data=[(k.index_select(-2, index), v.index_select(-2, index)) for k, v in layers])
        allowed = torch.ones(1, 1, index.numel() + 1, dtype=torch.bool)
        return engine._logits(ids[:, t : t + 1], pos, allowed, 1, key_pos=index, cache=cache, log_mass=log_mass)

    n_layers, heads = len(layers), layers[0][0].shape[1]
    mass = torch.ones(n_layers, heads, keep.numel())
    mass[:, :, 1] = 3.0
    with_mass = forward(keep, mass.log())
    with_copies = forward(copies, None)
    assert torch.allclose(with_mass, with_copies, atol=1e-5), family
    assert not torch.allclose(forward(keep, None), with_copies, atol=1e-3)  # the offset matters


def test_pooled_blocks_of_one_entry_are_the_sliding_window(zoo):
    """Blocks of one position are the entries themselves (mass 1): pooled:block=1 keeps the S most
    recent entries, the sliding window of the same budget, through the whole rewrite path."""
    _, engine, ctx = zoo
    budgets = [2, 5, 9, 11]  # below the sliding window of the zoo (12), where the window decides
    pooled = rows_tv(engine.evict(ctx, make_policy("pooled", block=1), budgets))
    sliding = rows_tv(engine.evict(ctx, make_policy("sliding"), budgets))
    assert np.allclose(pooled, sliding, atol=1e-6)
    assert np.all(pooled > 1e-4)


def sequential_merge(K, V, r):
    """The window as it slides, one eviction at a time: entry j leaves when the window is
    [j+1, j+r] and its value joins the most similar kept key, weighted by the masses."""
    G, c, _ = K.shape
    out_v = np.zeros((G, r, V.shape[2]))
    out_m = np.zeros((G, r))
    for g in range(G):
        vals = {j: V[g, j].copy() for j in range(c)}
        mass = {j: 1.0 for j in range(c)}
        for j in range(c - r):
            window = range(j + 1, j + r + 1)
            sims = [K[g, j] @ K[g, i] / (np.linalg.norm(K[g, j]) * np.linalg.norm(K[g, i])) for i in window]
            i = j + 1 + int(np.argmax(sims))
            vals[i] = (mass[i] * vals[i] + mass[j] * vals[j]) / (mass[i] + mass[j])
            mass[i] += mass[j]
        for n, i in enumerate(range(c - r, c)):
            out_v[g, n], out_m[g, n] = vals[i], mass[i]
    return out_v, out_m


@pytest.mark.parametrize("r", [1, 2, 5, 11])
def test_merge_equals_the_sequential_window(r):
    rng = np.random.default_rng(r)
    K = rng.standard_normal((3, 30, 4))
    V = rng.standard_normal((3, 30, 5))
    layers = [(torch.as_tensor(K[None]), torch.as_tensor(V[None]))]
    state = make_policy("merge").summarise(layers, 30, r + 1)
    want_v, want_m = sequential_merge(K, V, r)
    assert np.allclose(state.values[0][0].numpy(), want_v, atol=1e-12)
    assert np.allclose(state.log_mass[0].exp().numpy(), want_m)
    assert np.array_equal(state.keys[0][0].numpy(), K[:, 30 - r :])
    assert state.positions.tolist() == list(range(30 - r, 30))
    assert np.allclose(want_m.sum(axis=1), 30)  # every entry ends somewhere


def test_pooled_blocks_by_hand():
    """c = 20, S = 9, block 4: recent 5 (15..19); blocks [0,4) [4,8) [8,12) [12,15), the last
    one partial; with a BOS in front every position shifts by one and the BOS stays."""
    rng = np.random.default_rng(0)
    K = rng.standard_normal((1, 2, 21, 3))
    V = rng.standard_normal((1, 2, 21, 3))
    state = make_policy("pooled", block=4).summarise([(torch.as_tensor(K), torch.as_tensor(V))], 21, 10, bos=True)
    text_k = K[0, :, 1:]
    blocks = [(0, 4), (4, 8), (8, 12), (12, 15)]
    want_k = np.concatenate([K[0, :, :1]] + [text_k[:, a:b].mean(1, keepdims=True) for a, b in blocks]
                            + [text_k[:, 15:]], axis=1)
    assert np.allclose(state.keys[0][0].numpy(), want_k)
    assert state.positions.tolist() == [0, 4, 8, 12, 15, 16, 17, 18, 19, 20]
    assert np.allclose(state.log_mass[0, 0].exp().numpy(), [1, 4, 4, 4, 3, 1, 1, 1, 1, 1])


def test_a_summary_with_sinks_keeps_them_whole_inside_the_budget():
    """pooled:sink=2, block 4, c = 20 text entries, budget 10: the sinks 0, 1 untouched, then S = 7 slots
    for the 18 entries after them: recent 4 (16..19), blocks [6,10) [10,14) [14,16) (2..5 dropped)."""
    rng = np.random.default_rng(1)
    K = rng.standard_normal((1, 2, 20, 3))
    V = rng.standard_normal((1, 2, 20, 3))
    state = parse_policy("pooled:sink=2,block=4").summarise([(torch.as_tensor(K), torch.as_tensor(V))], 20, 10)
    blocks = [(6, 10), (10, 14), (14, 16)]
    want_k = np.concatenate([K[0, :, :2]] + [K[0, :, a:b].mean(1, keepdims=True) for a, b in blocks]
                            + [K[0, :, 16:]], axis=1)
    assert np.allclose(state.keys[0][0].numpy(), want_k)
    assert state.positions.tolist() == [0, 1, 9, 13, 15, 16, 17, 18, 19]
    assert np.allclose(state.log_mass[0, 0].exp().numpy(), [1, 1, 4, 4, 2, 1, 1, 1, 1])
    merged = parse_policy("merge:sink=3").summarise([(torch.as_tensor(K), torch.as_tensor(V))], 20, 8)
    assert merged.positions.tolist() == [0, 1, 2, 16, 17, 18, 19]  # 3 sinks + 4 merging slots
    assert np.array_equal(merged.values[0][0, :, :3].numpy(), V[0, :, :3])  # nothing merged into a sink
    assert np.allclose(merged.log_mass[0].exp().sum(1).numpy(), 20)  # every entry still counted once


def test_pooled_drops_blocks_beyond_its_slots():
    """S = 5: recent 3, 2 blocks of 4 before them; older entries are dropped."""
    K = torch.arange(30.0).reshape(1, 1, 30, 1)
    state = make_policy("pooled", block=4).summarise([(K, K)], 30, 6)
    assert state.positions.tolist() == [23, 26, 27, 28, 29]  # blocks [20,24) and [24,27)
    assert state.keys[0].flatten().tolist() == [21.5, 25.0, 27.0, 28.0, 29.0]


@pytest.mark.parametrize("bits", [1, 2, 3, 8])
def test_fake_quantize_is_an_n_bit_code(bits):
    rng = np.random.default_rng(bits)
    x = torch.as_tensor(rng.standard_normal((4, 32, 6)))
    q = fake_quantize(x, bits, dim=1)
    for g in range(4):
        for d in range(6):
            assert len(np.unique(q[g, :, d].numpy().round(12))) <= 2**bits
    scale = (x.amax(1, keepdim=True) - x.amin(1, keepdim=True)) / (2**bits - 1)
    assert torch.all((q - x).abs() <= scale / 2 + 1e-12)
    codes = torch.as_tensor(rng.integers(0, 2**bits, (1, 32, 1)), dtype=x.dtype)
    codes[:, 0], codes[:, 1] = 0, 2**bits - 1  # the grid's own min and max are its end points
    grid = x.amin(1, keepdim=True) + codes * scale
    assert torch.allclose(fake_quantize(grid, bits, dim=1), grid, atol=1e-12)


def test_quantized_tail_groups_keys_by_channel_and_values_by_token():
    """Keys: per channel, within each group of `group` tail tokens, at most 2^bits values; values:
    per token, within each group of `group` channels. The recent window is untouched."""
    rng = np.random.default_rng(3)
    K = torch.as_tensor(rng.standard_normal((1, 2, 200, 8)))
    V = torch.as_tensor(rng.standard_normal((1, 2, 200, 8)))
    policy = make_policy("quantized", bits=2, group=4)
    state = policy.summarise([(K, V)], 200, 9)  # S = 8: recent 4, 4 slots buy the tail
    T = policy.tail(200, 8, 8, 8)
    # per (layer, head): full entry 2*8*8 = 128 bytes, quantized 2*8*2/8 + 2*8*2 + 2*8*8/4 = 4 + 32 + 32 = 68
    assert T == math.floor(4 * 128 / 68) == 7
    assert state.size == T + 4
    assert state.positions.tolist() == list(range(200 - 4 - T, 200))
    assert torch.equal(state.keys[0][..., -4:, :], K[..., 196:200, :])
    tail_k, tail_v = state.keys[0][0, :, :T], state.values[0][0, :, :T]
    for h in range(2):
        for a in range(0, T, 4):
            for d in range(8):
                assert len(set(tail_k[h, a : a + 4, d].tolist())) <= 4
        for j in range(T):
            for a in range(0, 8, 4):
                assert len(set(tail_v[h, j, a : a + 4].tolist())) <= 4
    assert not torch.equal(tail_k, K[0, :, 200 - 4 - T : 196])


SMOLLM2 = KVGeometry(30, 3, 64, 4.0)  # float32: 2 * 30 * 3 * 64 * 4 = 46080 bytes per entry


@pytest.mark.parametrize(("spec", "t", "budget", "bos", "want"), [
    ("sliding", 255, 64, False, 64 * 46080),
    ("sliding", 255, 1000, False, 256 * 46080),
    ("sliding", 256, 64, True, 65 * 46080),
    ("sink", 255, 64, False, 64 * 46080),
    ("merge", 255, 64, False, 64 * 46080 + 2 * 30 * 3 * 63),
    ("merge", 255, 256, False, 256 * 46080),
    ("pooled", 255, 64, False, 61 * 46080),  # 32 recent + 28 blocks of 8 + the query
    ("pooled", 255, 16, False, 16 * 46080),  # 8 recent + 7 blocks + the query
    ("quantized", 255, 64, False, 33 * 46080 + 90 * (223 * 48 + 7 * 512)),  # 223 tail tokens at 48 B + 7 key groups
    ("quantized", 255, 8, False, 5 * 46080 + 90 * (24 * 48 + 1 * 512)),  # 3 slots buy 24 tokens
    ("merge:sink=4", 255, 64, False, 64 * 46080 + 2 * 30 * 3 * 59),  # no mass for the 4 sinks
    ("pooled:sink=4", 255, 64, False, 63 * 46080),  # 4 sinks + 30 recent + 28 blocks + the query
    ("quantized:sink=4", 255, 8, False, 7 * 46080 + 90 * (8 * 48 + 1 * 512)),  # 4 sinks, 2 recent; 1 slot buys 8
    ("kivi", 255, 64, False, 64 * 46080 + 90 * (192 * 48 + 6 * 512)),  # 192 = 32 x floor((255 - 63) / 32) quantized
    ("kivi", 255, 8, False, 32 * 46080 + 90 * (224 * 48 + 7 * 512)),  # residual 31 (>= 7) + the query
    ("kivi", 255, 256, False, 256 * 46080),  # the whole prefix fits
    # 4 sinks, then S = 3 and 251 entries: 224 = 32 x floor(248 / 32) quantized, 27 residual, and the query
    ("kivi:sink=4", 255, 8, False, (4 + 27 + 1) * 46080 + 90 * (224 * 48 + 7 * 512)),
    # 8 recent + 7 blocks (sizes 32 16 16 8 8 4 3, test_carried's brute force) + the query
    ("multiscale:block=4", 255, 16, False, (8 + 7 + 1) * 46080),
])
def test_bytes_by_hand(spec, t, budget, bos, want):
    assert parse_policy(spec).cache_bytes(t, budget, SMOLLM2, bos) == pytest.approx(want, rel=1e-12, abs=0)


def test_summaries_run_in_the_modes_they_declare():
    """Evict, and online when streaming: quantized's tail start moves every step, so it runs in evict only."""
    protocol = Protocol(policies=("sliding", "merge", "quantized"), modes=("recompute", "evict", "online"),
                        budgets=(1, 4), prefixes=1, prefix_length=16, targets=1)
    assert [task for task in protocol.tasks() if task[0] != "sliding"] == [
        ("merge", "evict", "preserved"), ("merge", "online", "preserved"), ("quantized", "evict", "preserved")]
    with pytest.raises(ValueError, match="runs in evict and online mode only"):
        Protocol(policies=("merge",), modes=("recompute",), budgets=(1,), prefixes=1, prefix_length=16, targets=1)
    engine = Engine(tiny_model())
    ctx = engine.context(np.arange(20) % 200, 2)
    with pytest.raises(ValueError, match="evict and online mode only"):
        engine.recompute(ctx, make_policy("pooled"), [4], "preserved")
    with pytest.raises(ValueError, match="not streaming"):
        engine.online(ctx, make_policy("quantized"), [4])
    with pytest.raises(ValueError, match="not a streaming summary"):
        engine.carry(ctx, [make_policy("sliding")], [4])


def test_pooled_blocks_of_one_carried_online_are_the_online_sliding_window(zoo):
    """Carried through decoding, pooled:block=1 keeps the S most recent entries at every step: online
    sliding, which the engine computes by an unrelated method (one forward under a band mask)."""
    _, engine, ctx = zoo
    budgets = [2, 5, 9, 11]
    carried = rows_tv(engine.online(ctx, make_policy("pooled", block=1), budgets))
    sliding = rows_tv(engine.online(ctx, make_policy("sliding"), budgets))
    assert np.allclose(carried, sliding, atol=1e-6)
    assert np.all(carried > 1e-4)
    evicted = rows_tv(engine.evict(ctx, make_policy("pooled", block=1), budgets))
    assert not np.allclose(carried, evicted, atol=1e-4)  # online entries differ from the prefill's


def test_summaries_with_a_bos_keep_it_and_match_the_full_law():
    lm = tiny_model(bos=True)
    engine = Engine(lm)
    tokens = np.concatenate([[BOS], np.random.default_rng(5).integers(0, 255, 30)])
    ctx = engine.context(tokens, 3, bos=Bos("always", BOS))
    for spec in ("merge", "pooled", "quantized"):
        policy = parse_policy(spec)
        assert np.all(rows_tv(engine.evict(ctx, policy, [30])) < 1e-6)
        state = policy.summarise(engine._prefill(ctx), ctx.targets[0], 6, bos=True)
        assert state.positions[0] == 0
        assert torch.equal(state.keys[0][..., 0, :], engine._prefill(ctx)[0][0][..., 0, :])


@pytest.mark.parametrize("bad", ["pooled:block=0", "quantized:bits=0", "quantized:bits=17", "quantized:group=0",
                                 "multiscale:block=0", "kivi:bits=0", "kivi:group=0", "merge:bonus=2"])
def test_bad_hyperparameters_are_refused(bad):
    with pytest.raises(ValueError, match=bad.split(":")[1].split("=")[0]):
        parse_policy(bad)


@pytest.mark.parametrize(("spec", "t", "budget", "want"), [
    ("pooled", 255, 32, False),  # 16 recent + 15 blocks of 8 reach back 136 of 255
    ("pooled", 255, 64, True),  # 32 recent + 31 blocks of 8 = 280 >= 255
    ("quantized", 255, 32, False),  # 16 recent + 15 slots x 8 = 136
    ("quantized", 255, 64, True),  # 32 + 31 x 8 = 280
    ("pooled", 1023, 128, False),  # 64 + 63 x 8 = 568 of 1023
    ("merge", 255, 8, False),  # reach is total by design; more slots never stop buying resolution
    ("sliding", 255, 128, False),
    ("kivi", 255, 4, True),  # every entry kept: more memory buys precision only
    ("multiscale", 255, 16, False),  # 8 recent + 7 blocks reaching back 87 of the 247 before them
    ("multiscale", 255, 32, True),  # 16 recent + 15 slots of blocks reach back past 239
])
def test_saturation_by_hand(spec, t, budget, want):
    assert parse_policy(spec).saturated(t, budget, SMOLLM2) is want


def test_a_summary_records_its_sinks_only_when_it_has_some():
    """Results recorded before summaries had sinks resume: sink=0 is not recorded, sink=4 is."""
    from validation.policies import hyperparameters

    assert hyperparameters(parse_policy("pooled")) == {"policy": "pooled", "block": 8}
    assert hyperparameters(parse_policy("pooled:sink=4")) == {"policy": "pooled", "sink": 4, "block": 8}
    assert hyperparameters(parse_policy("merge")) == {"policy": "merge"}
    assert hyperparameters(parse_policy("merge:bonus=false")) == {"policy": "merge", "bonus": False}
