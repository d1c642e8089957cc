"""Streaming summaries, carried through decoding (validation.engine.carried), each against a
computation of its own: merge against a decoder that keeps the merged cache and updates it one
eviction at a time, multiscale's exponential histogram against a brute-force simulation, kivi's
groups against a quantizer written out in numpy, and every streaming summary's past left unchanged
by a new entry."""

import numpy as np
import pytest
import torch
from transformers import DynamicCache

from validation.engine import Engine
from validation.policies import make_policy, parse_policy
from validation.policies.pooling import histogram
from validation.testing.tiny import tiny_model

L, N_TARGETS = 36, 3


@pytest.fixture(scope="module")
def tiny():
    engine = Engine(tiny_model())
    return engine, engine.context(np.random.default_rng(4).integers(97, 123, L), N_TARGETS)


def merge_decoder(engine, ctx, budget: int) -> dict[int, torch.Tensor]:
    """A decoder that holds merge's cache: S = budget - 1 entries with masses, updated in place. After
    each step, while more than S entries are held, the oldest leaves and its value joins the held
    entry (of the S after it) whose key is most similar, per layer and head, weighted by the masses.
    Returns the logits at the targets."""
    S, out = budget - 1, {}
    ids = torch.as_tensor(ctx.tokens)
    keys = values = None  # (layers, H, n, D) held
    mass = None  # (layers, H, n)
    pos: list[int] = []
    for i in range(ctx.tokens.size):
        cache = DynamicCache(ddp_cache_data=[(keys[l][None], values[l][None]) for l in range(keys.shape[0])]) \
            if pos else DynamicCache()
        allowed = torch.ones(1, 1, len(pos) + 1, dtype=torch.bool)
        logits = engine._logits(ids[i : i + 1][None], torch.tensor([[i]]), allowed, 1,
                                key_pos=torch.tensor(pos) if pos else None, cache=cache,
                                log_mass=mass.log() if pos else None)
        if i in ctx.targets:
            out[i] = logits[:, -1]
        new_k = torch.stack([layer.keys[0, :, -1] for layer in cache.layers])[:, :, None]
        new_v = torch.stack([layer.values[0, :, -1] for layer in cache.layers])[:, :, None]
        keys = new_k if keys is None else torch.cat([keys, new_k], 2)
        values = new_v if values is None else torch.cat([values, new_v], 2)
        one = torch.ones(keys.shape[:2] + (1,))
        mass = one if mass is None else torch.cat([mass, one], 2)
        pos.append(i)
        while len(pos) > S:
            for layer in range(keys.shape[0]):
                for head in range(keys.shape[1]):
                    k = keys[layer, head]
                    sims = [float(k[0] @ k[j] / (k[0].norm() * k[j].norm())) for j in range(1, S + 1)]
                    j = 1 + int(np.argmax(sims))  # the first on ties
                    m0, mj = mass[layer, head, 0], mass[layer, head, j]
                    values[layer, head, j] = (m0 * values[layer, head, 0] + mj * values[layer, head, j]) / (m0 + mj)
                    mass[layer, head, j] = m0 + mj
            keys, values, mass, pos = keys[:, :, 1:], values[:, :, 1:], mass[:, :, 1:], pos[1:]
    return out


@pytest.mark.parametrize("budget", [2, 4, 7])
def test_carried_merge_is_a_decoder_that_updates_its_merged_cache(tiny, budget):
    engine, ctx = tiny
    want = merge_decoder(engine, ctx, budget)
    got = engine.carry(ctx, [make_policy("merge")], [budget], method="tokens")[0]
    rows = ctx.full.compare(list(range(N_TARGETS)), torch.cat([want[t] for t in ctx.targets]))
    assert np.allclose([r["tv"] for r in got], rows["tv"], atol=1e-6)
    assert min(r["tv"] for r in got) > 1e-4


def brute_histogram(n: int, block: int, most: int) -> list[tuple[int, int]]:
    """Block sizes only, oldest first, and the number of positions dropped; spans rebuilt at the end."""
    sizes: list[int] = []
    dropped = 0
    for _ in range(n):
        if sizes and sizes[-1] < block:
            sizes[-1] += 1
        else:
            sizes.append(1)
        size = block
        while sizes[-1] == block and sizes.count(size) > 2:
            first = sizes.index(size)  # the two oldest of this size, side by side
            sizes[first : first + 2] = [2 * size]
            size *= 2
        while len(sizes) > most:
            dropped += sizes.pop(0)
    edges = np.cumsum([dropped, *sizes])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


@pytest.mark.parametrize(("block", "most"), [(1, 1), (1, 6), (3, 4), (4, 7), (2, 31)])
def test_multiscale_blocks_are_an_exponential_histogram(block, most):
    previous: tuple = ()
    for n in range(0, 300):
        spans = histogram(n, block, most)
        assert list(spans) == brute_histogram(n, block, most), n
        sizes = [b - a for a, b in spans]
        assert len(spans) <= most and all(x[1] == y[0] for x, y in zip(spans, spans[1:]))
        assert not spans or spans[-1][1] == n
        complete = sizes[:-1] if sizes and sizes[-1] < block else sizes
        assert all(s >= t for s, t in zip(complete, complete[1:]))  # never smaller with age
        assert all(s % block == 0 and ((s // block) & (s // block - 1)) == 0 for s in complete)  # block x 2^j
        assert all(complete.count(s) <= 2 for s in set(complete))
        # streaming: each block before this arrival is kept whole inside one block now, or dropped
        for a, b in previous:
            now = [s for s in spans if s[0] <= a < s[1]]
            assert not now or now[0][1] >= b, (n, (a, b), spans)
        previous = spans
    if most >= 8:
        assert spans[0][0] == 0  # 2 (2^(most/2) - 1) blocks reach far past 300


def numpy_quantize(x, bits, axis):
    lo, hi = x.min(axis=axis, keepdims=True), x.max(axis=axis, keepdims=True)
    scale = (hi - lo) / (2**bits - 1)
    return np.where(scale > 0, lo + np.clip(np.round((x - lo) / np.where(scale > 0, scale, 1)), 0, 2**bits - 1)
                    * scale, x)


def test_kivi_by_hand():
    """c = 20 text entries, budget 6 (S = 5), group 4: 12 = 4 x floor(15 / 4) entries quantized (keys per
    channel in token groups [0,4) [4,8) [8,12), values per token in channel groups of 4), 8 exact."""
    rng = np.random.default_rng(6)
    K, V = rng.standard_normal((1, 2, 20, 8)), rng.standard_normal((1, 2, 20, 8))
    state = parse_policy("kivi:group=4").summarise([(torch.as_tensor(K), torch.as_tensor(V))], 20, 6)
    assert state.positions.tolist() == list(range(20)) and state.log_mass is None
    want_k = np.concatenate([numpy_quantize(K[0, :, a : a + 4], 2, axis=1) for a in (0, 4, 8)] + [K[0, :, 12:]], 1)
    want_v = np.concatenate([np.concatenate([numpy_quantize(V[0, :, :12, a : a + 4], 2, axis=2) for a in (0, 4)], 2),
                             V[0, :, 12:]], 1)
    assert np.allclose(state.keys[0][0].numpy(), want_k, atol=1e-12)
    assert np.allclose(state.values[0][0].numpy(), want_v, atol=1e-12)


def changes_without_growth(spec: str) -> int:
    """Over steps c = 8..59 at budget 9: the most times one entry (by position) changed between two
    consecutive summaries while its mass stayed the same (a merge grows the mass; a drop removes it)."""
    rng = np.random.default_rng(7)
    K, V = torch.as_tensor(rng.standard_normal((1, 2, 60, 4))), torch.as_tensor(rng.standard_normal((1, 2, 60, 4)))
    policy = parse_policy(spec)
    changes: dict[int, int] = {}
    for c in range(8, 59):
        a, b = policy.summarise([(K, V)], c, 9), policy.summarise([(K, V)], c + 1, 9)
        ma = a.log_mass.exp() if a.log_mass is not None else torch.ones(1, 2, a.size)
        mb = b.log_mass.exp() if b.log_mass is not None else torch.ones(1, 2, b.size)
        later = b.positions.tolist()
        for i, p in enumerate(a.positions.tolist()):
            if p in later and torch.equal(ma[..., i], mb[..., later.index(p)]):
                j = later.index(p)
                same = torch.equal(a.values[0][..., i, :], b.values[0][..., j, :]) and \
                    torch.equal(a.keys[0][..., i, :], b.keys[0][..., j, :])
                changes[p] = changes.get(p, 0) + (not same)
    return max(changes.values())


@pytest.mark.parametrize(("spec", "most"), [("merge", 0), ("pooled:block=3", 0), ("multiscale:block=2", 0),
                                            ("merge:sink=2", 0), ("kivi:group=4", 1)])
def test_a_streaming_summary_never_revises_what_it_settled(spec, most):
    """Between steps a streaming summary adds the new entry, merges (masses grow), drops, or (kivi) quantizes
    a completed group once: an entry whose mass stays the same changes at most once (kivi) or never."""
    assert changes_without_growth(spec) == most


def test_quantized_tail_is_not_streaming():
    """Its key groups start where the tail starts, one step later each step: entries are re-quantized."""
    assert changes_without_growth("quantized:group=4") > 1


def test_merge_without_its_bonus_attends_as_one_entry():
    rng = np.random.default_rng(9)
    K, V = torch.as_tensor(rng.standard_normal((1, 2, 30, 4))), torch.as_tensor(rng.standard_normal((1, 2, 30, 4)))
    with_bonus = make_policy("merge").summarise([(K, V)], 30, 6)
    without = make_policy("merge", bonus=False).summarise([(K, V)], 30, 6)
    assert without.log_mass is None and with_bonus.log_mass is not None
    assert torch.equal(without.values[0], with_bonus.values[0]) and torch.equal(without.keys[0], with_bonus.keys[0])


def test_a_run_carries_its_summaries_in_one_decode_and_saves_each(tmp_path, write_texts):
    """`run` decodes every carried summary of a prefix together (one row per policy and budget); each
    policy's saved rows equal those of a run carrying it alone, on the same prefixes."""
    from validation.runs.protocol import Protocol, curves, run

    corpus = write_texts(tmp_path / "texts", 11, n=3)
    together = Protocol(policies=("sliding", "merge", "multiscale:block=2", "quantized"), modes=("evict", "online"),
                        budgets=(3, 6), prefixes=2, prefix_length=30, targets=2)
    table = run(together, tmp_path / "together", lm=tiny_model(), corpus=corpus, progress=False).table()
    assert not any(m == "online" and p == "quantized" for p, m in zip(table["policy"], table["mode"]))
    for spec in ("merge", "multiscale:block=2"):
        alone = Protocol(policies=("sliding", spec), modes=("online",), budgets=(3, 6), prefixes=2,
                         prefix_length=30, targets=2)
        single = run(alone, tmp_path / spec.replace(":", "_"), lm=tiny_model(), corpus=corpus, progress=False).table()
        got, want = curves(table, spec, "online", mu=None), curves(single, spec, "online", mu=None)
        assert got.tv.shape == (2, 2) and np.all(got.tv > 1e-6)  # not the full law
        assert np.allclose(got.tv, want.tv, atol=1e-6) and got.samples == want.samples


def test_carried_summaries_with_a_bos_keep_it_and_match_the_full_law():
    """With a BOS every carried summary keeps it untouched at position 0, outside the budget: at a budget
    covering the text the law is the full law; below it, the same as pooled:block=1's online window."""
    from validation.data.bos import Bos
    from validation.testing.tiny import BOS

    engine = Engine(tiny_model(bos=True))
    tokens = np.concatenate([[BOS], np.random.default_rng(5).integers(0, 255, 30)])
    ctx = engine.context(tokens, 3, bos=Bos("always", BOS))
    for spec in ("merge", "pooled", "multiscale", "kivi:group=4"):
        rows = engine.online(ctx, parse_policy(spec), [31])
        assert max(r["tv"] for r in rows) < 1e-6, spec
    carried = [r["tv"] for r in engine.online(ctx, make_policy("pooled", block=1), [3, 6])]
    sliding = [r["tv"] for r in engine.online(ctx, make_policy("sliding"), [3, 6])]
    assert np.allclose(carried, sliding, atol=1e-6) and min(carried) > 1e-5
