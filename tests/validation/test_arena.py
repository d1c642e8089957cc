"""The arena (validation.arena): its verdict rule on known answers, its frontier, and the command end to end.

Known answers are synthetic panels, documents x budgets, of power laws in bytes with a shared
per-document level and noise: a policy whose exponent is twice the reference's beats it, one
with half does not, an equal one must not be called a winner, and a sample too small or a memory
that barely grows is left undecided. Wrong-verdict rates are measured over many draws.
"""

import json

import numpy as np
import pytest

from validation.arena import arena
from validation.runs.contests import SPAN, exponent_contest, frontier
from validation.testing.tiny import tiny_model
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE

ENTRY = 46080.0  # bytes per KV entry of SmolLM2-135M in float32
BUDGETS = np.array([16.0, 32.0, 64.0, 128.0])


def world(rng, alpha, n=24, alpha_ref=0.5, sigma=0.15, x=None):
    """(x, panel, x_ref, panel_ref): TV = level_i x^-alpha e^noise, the same documents (levels) for both."""
    x_ref = BUDGETS * ENTRY
    x = x_ref if x is None else x
    level = np.exp(rng.normal(0, 0.5, (n, 1)))
    ref = level * (x_ref / ENTRY) ** -alpha_ref * np.exp(sigma * rng.standard_normal((n, x_ref.size)))
    top = level * (x / ENTRY) ** -alpha * np.exp(sigma * rng.standard_normal((n, x.size)))
    return x, top, x_ref, ref


def outcomes(alpha, draws=200, **kw):
    rng = np.random.default_rng(int(alpha * 1000) + kw.get("n", 24))
    out = []
    for d in range(draws):
        x, top, x_ref, ref = world(rng, alpha, **kw)
        out.append(exponent_contest("arena", x, top, x_ref, ref, n_boot=200, seed=d)[2].outcome)
    return np.array(out)


def test_a_faster_decay_per_byte_beats_the_suffix_only_scaling():
    got = outcomes(1.0)
    assert np.mean(got == FAILS) == 0.0  # never the wrong answer
    assert np.mean(got == HOLDS) >= 0.95  # and decided almost always at 24 documents


def test_a_slower_decay_does_not():
    got = outcomes(0.25)
    assert np.mean(got == HOLDS) == 0.0
    assert np.mean(got == FAILS) >= 0.95


def test_an_equal_exponent_is_rarely_called_a_winner():
    """The truth is "does not beat"; calling it a winner is the error a 95% interval makes ~2.5% of the time."""
    got = outcomes(0.5)
    assert np.mean(got == HOLDS) <= 0.05


def test_too_few_documents_is_inconclusive_by_rule():
    got = outcomes(1.0, draws=20, n=6)
    assert np.all(got == INCONCLUSIVE)


def test_a_memory_that_barely_grows_has_no_exponent():
    rng = np.random.default_rng(0)
    flat = ENTRY * (200 + BUDGETS)  # a context-sized offset: 216..328 entries, a 1.5x span
    assert flat.max() / flat.min() < SPAN
    x, top, x_ref, ref = world(rng, 1.0, x=flat)
    verdict = exponent_contest("arena", x, top, x_ref, ref, n_boot=200)[2]
    assert verdict.outcome == INCONCLUSIVE and "spans" in verdict.reason


def test_the_ratio_is_exact_on_noiseless_laws():
    x_ref = BUDGETS * ENTRY
    ref = np.tile(3.0 * BUDGETS ** -0.4, (10, 1))
    top = np.tile(2.0 * (2 * BUDGETS) ** -0.9, (10, 1))  # twice the bytes per budget: the exponent in bytes is 0.9
    alpha, ratio, verdict = exponent_contest("arena", 2 * x_ref, top, x_ref, ref, n_boot=100)
    assert alpha.estimate == pytest.approx(0.9, rel=1e-10, abs=0)
    assert ratio.estimate == pytest.approx(0.9 / 0.4, rel=1e-10, abs=0)
    assert verdict.outcome == HOLDS


def test_documents_must_be_paired():
    with pytest.raises(ValueError, match="same documents"):
        exponent_contest("arena", BUDGETS, np.ones((5, 4)), BUDGETS, np.ones((6, 4)))


def test_the_frontier_keeps_the_points_nothing_cheaper_beats():
    points = [(1, 0.9), (2, 0.5), (2, 0.7), (3, 0.6), (4, 0.2), (5, 0.3), (8, 0.05)]
    assert frontier(points) == [(1, 0.9), (2, 0.5), (4, 0.2), (8, 0.05)]


@pytest.fixture(scope="module")
def arena_dir(tmp_path_factory, write_texts):
    corpus = write_texts(tmp_path_factory.mktemp("texts"), 3)
    out = tmp_path_factory.mktemp("arena")
    report = arena(out, lm=tiny_model(layers=2), corpora={"natural": corpus}, domains=("natural",), presses=(),
                   prefixes=8, prefix_length=64, budgets=(2, 4, 8, 16, 32), n_boot=100, progress=False)
    return out, report


def test_the_arena_writes_leaderboard_and_report(arena_dir):
    out, report = arena_dir
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.png", "arena.md", "arena.png", "arena.json"):
        assert (out / name).stat().st_size > 300, name
    saved = json.loads((out / "arena.json").read_text())
    pairs = {(r["policy"], r["mode"]) for r in saved["leaderboard"]}
    assert {("sliding", "recompute"), ("sliding", "evict"), ("sink", "online"), ("merge", "evict"),
            ("pooled", "evict"), ("quantized", "evict")} <= pairs
    assert len(saved["leaderboard"]) == len(pairs) * 5
    judged = {(c["policy"], c["mode"]) for c in saved["contests"] if c["verdict"] is not None}
    assert judged == {("merge", "evict"), ("pooled", "evict"), ("quantized", "evict"), ("sink", "online"),
                      ("sink", "evict"), ("sliding", "online"), ("sliding", "evict")}
    for c in saved["contests"]:
        assert c["ratio"]["low"] <= c["ratio"]["estimate"] <= c["ratio"]["high"] or c["verdict"] is None
    assert saved["synthetic"] and not saved["failures"]
    md = (out / "arena.md").read_text()
    assert "beats the suffix-only scaling" in md and "sources where the answer is known" in md


def test_leaderboard_bytes_follow_each_policy(arena_dir):
    """The tiny model: 2 layers, 2 KV heads, head dim 8, float32: 2*2*2*8*4 = 256 bytes per entry."""
    _, report = arena_dir
    rows = {(r["policy"], r["mode"], r["budget"]): r for r in report["leaderboard"]}
    assert rows[("sliding", "recompute", 16)]["bytes"] == 16 * 256
    assert rows[("pooled", "evict", 16)]["bytes"] == 16 * 256  # 8 recent + 7 blocks + the query
    assert rows[("merge", "evict", 16)]["bytes"] == 16 * 256 + 2 * 2 * 2 * 15  # int16 masses


def test_the_arena_resumes_without_measuring_again(arena_dir, monkeypatch, write_texts):
    out, first = arena_dir
    import validation.engine as measure

    def refuse(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(measure.Engine, "context", refuse)
    corpus = write_texts(out.parent / "texts-again", 3)
    again = arena(out, lm=tiny_model(layers=2), corpora={"natural": corpus}, domains=("natural",), presses=(),
                  prefixes=8, prefix_length=64, budgets=(2, 4, 8, 16, 32), n_boot=100, progress=False)
    assert not again["failures"]
    assert [r["tv"] for r in again["leaderboard"]] == [r["tv"] for r in first["leaderboard"]]


def test_a_summary_that_holds_the_whole_prefix_is_not_judged_on_that_range():
    rng = np.random.default_rng(1)
    x, top, x_ref, ref = world(rng, 1.0)
    verdict = exponent_contest("arena", x, top, x_ref, ref, n_boot=200, saturated_from=64)[2]
    assert verdict.outcome == INCONCLUSIVE and "covers the whole prefix" in verdict.reason


def test_a_bos_is_kept_by_every_policy_outside_the_budget_and_said_in_the_report(tmp_path, write_texts):
    """With a BOS (the tiny tokenizer's id 256) every context starts with it: one more entry of
    256 bytes at every budget, for the window and the summaries alike, and the report says so."""
    corpus = write_texts(tmp_path / "texts", 3)
    report = arena(tmp_path / "arena", lm=tiny_model(layers=2, bos=True), corpora={"natural": corpus},
                   domains=("natural",), presses=(), prefixes=8, prefix_length=32, budgets=(2, 4, 8), n_boot=50,
                   bos="always", progress=False)
    rows = {(r["policy"], r["mode"], r["budget"]): r for r in report["leaderboard"]}
    assert rows[("sliding", "recompute", 8)]["bytes"] == (8 + 1) * 256
    assert rows[("pooled", "evict", 8)]["bytes"] == (8 + 1) * 256
    assert report["model"]["bos"].startswith("BOS (id 256) put first in every context")
    assert "BOS (id 256) put first in every context" in (tmp_path / "arena" / "arena.md").read_text()
    plain = arena(tmp_path / "plain", lm=tiny_model(layers=2, bos=True), corpora={"natural": corpus},
                  domains=("natural",), presses=(), prefixes=8, prefix_length=32, budgets=(2, 4, 8), n_boot=50,
                  bos="never", progress=False)
    assert plain["model"]["bos"] == "no BOS (--bos never)"
    assert {(r["policy"], r["mode"], r["budget"]): r["bytes"] for r in plain["leaderboard"]}[("sliding", "recompute", 8)] == 8 * 256
