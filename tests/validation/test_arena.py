"""The arena (validation.arena): its verdicts are the claims layer's rules on the measured curves, its
rules by hand (too few documents, a saturated summary), its frontier, and the command end to end.
The rules' own known answers and wrong-verdict rates are in tests/test_claims.py and
tests/test_claims_calibration.py."""

import importlib.util
import json

import numpy as np
import pytest

from validation.arena import arena, arena_protocol, ratios_protocol
from validation.runs.contests import contests, frontier
from validation.runs.protocol import protocol_config
from validation.testing.tiny import tiny_model
from wzbounds.claims.scaling import faster_decay, less_memory
from wzbounds.verdict import INCONCLUSIVE

KV = tiny_model().kv  # 256 bytes per entry
BUDGETS = (4, 8, 16, 32, 64, 128, 256, 512)


def table(panels: dict, n: int) -> dict:
    """A tidy table as the store gives it: (policy, mode) -> documents x budgets of TV."""
    rows = [(spec, mode, f"d{i}", k, float(panel[i, j])) for (spec, mode), panel in panels.items()
            for i in range(n) for j, k in enumerate(BUDGETS)]
    cols = list(zip(*rows))
    return {"policy": np.array(cols[0]), "mode": np.array(cols[1]), "positions": np.full(len(rows), "preserved"),
            "doc": np.array(cols[2]), "prefix_start": np.zeros(len(rows), dtype=int),
            "budget": np.array(cols[3]), "tv": np.array(cols[4]), "t": np.full(len(rows), 1023)}


def world(n, seed=0):
    rng = np.random.default_rng(seed)
    w = np.array(BUDGETS, dtype=float)
    level = np.exp(rng.normal(0, 0.3, (n, 1)))
    noise = lambda: np.exp(0.1 * rng.standard_normal((n, w.size)))  # noqa: E731
    return {("sliding", "recompute"): level * w**-0.4 * noise(), ("sliding", "evict"): level * 0.9 * w**-0.4 * noise(),
            ("merge", "evict"): level * 2.0 * w**-0.8 * noise()}


PROTOCOL = arena_protocol(presses=(), prefix_length=1024, budgets=BUDGETS)


def test_the_arena_decides_with_the_claims_layer_on_the_same_curves():
    """merge: steeper and better at the top budget over two decades, so faster_decay holds; its verdicts
    are exactly those of wzbounds.claims on the curves the table holds, memory in its own bytes."""
    from validation.runs.protocol import curves

    t = table(world(24), 24)
    got = {(c.policy, c.mode): c for c in contests(t, PROTOCOL, KV, tiny_model().resolve_bos("never"), "natural",
                                                    n_boot=200)}
    ref, merge = curves(t, "sliding", "recompute", mu=None), curves(t, "merge", "evict", mu=None)
    assert got[("merge", "evict")].faster == faster_decay(ref, merge, n_boot=200)
    policy = PROTOCOL.policy("merge")
    memory = np.array([policy.cache_bytes(1023, k, KV) for k in BUDGETS])
    assert got[("merge", "evict")].less == less_memory(ref, merge, reference_memory=np.array(BUDGETS) * 256.0,
                                                      contender_memory=memory, n_boot=200)[0]
    assert got[("merge", "evict")].faster.outcome == "holds" and got[("merge", "evict")].judged
    assert got[("sliding", "evict")].faster.outcome != "holds"  # a better constant, the same exponent: no win
    assert got[("sliding", "evict")].same_mode is None and got[("merge", "evict")].same_mode is not None


def test_too_few_documents_are_inconclusive_by_rule():
    c = {(c.policy, c.mode): c for c in contests(table(world(6), 6), PROTOCOL, KV,
                                                 tiny_model().resolve_bos("never"), "natural", n_boot=100)}
    for verdict in (c[("merge", "evict")].faster, c[("merge", "evict")].less):
        assert verdict.outcome == INCONCLUSIVE and verdict.reason.startswith("not decided by rule: 6 documents")


def test_a_summary_that_holds_the_whole_prefix_is_not_judged_on_that_range():
    short = arena_protocol(presses=(), prefix_length=600, budgets=BUDGETS)  # pooled covers 600 positions early
    panels = world(24)
    panels[("pooled", "evict")] = panels.pop(("merge", "evict"))
    c = {(c.policy, c.mode): c for c in contests(table(panels, 24), short, KV, tiny_model().resolve_bos("never"),
                                                 "natural", n_boot=100)}
    v = c[("pooled", "evict")].faster
    assert v.outcome == INCONCLUSIVE and "covers the whole context" in v.reason and "estimate" not in v.numbers


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
    judged = {(c["policy"], c["mode"]) for c in saved["contests"] if c["judged"]}
    summaries = ("merge", "merge:bonus=false", "pooled", "multiscale", "quantized", "kivi", "merge:sink=4",
                 "merge:bonus=false,sink=4", "pooled:sink=4", "multiscale:sink=4", "quantized:sink=4", "kivi:sink=4")
    assert judged == {(s, "evict") for s in summaries} | {("sink", "online"), ("sink", "evict"),
                                                           ("sliding", "online"), ("sliding", "evict")}
    for c in saved["contests"]:
        assert c["faster_decay"]["claim"] == "faster_decay" and c["less_memory"]["claim"] == "less_memory"
        assert c["faster_decay"]["outcome"] == INCONCLUSIVE  # 2..32: 1.2 decades, short of the two it needs
    assert saved["synthetic"] and not saved["failures"]
    # the main table: 25, 50, 75, 90% of the 63 text entries before the query compressed, 1 + round((1 - r) 63)
    assert saved["ratios"] == [0.25, 0.5, 0.75, 0.9]
    main = saved["leaderboard_ratios"]
    assert {r["budget"] for r in main} == {48, 33, 17, 7} and {r["policy"] for r in main} >= {"sliding", "kivi"}
    for r in main:
        assert r["ratio"] == pytest.approx(1 - (r["budget"] - 1) / 63)
        assert r["kld"]["estimate"] >= 0 and 0 <= r["same_top"]["estimate"] <= 1 and r["ppl_ratio"]["estimate"] > 0
        assert r["kld_p99"] >= r["kld"]["estimate"] - 1e-12
    board = (out / "leaderboard.md").read_text()
    assert board.index("At the compression ratios users run") < board.index("The extreme regime")
    assert "### 90% compression (budget 7)" in board and "PPL ratio" in board
    md = (out / "arena.md").read_text()
    assert "faster_decay" in md and "less_memory" in md and "sources where the answer is known" in md


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


def test_every_arena_curve_exports_per_document(arena_dir, tmp_path, capsys):
    """`wzbounds export --all` on an arena output (measure/<domain>/arena/ and .../ratios/): one CSV per
    (policy, mode), one sample per document, with the protocol; a single curve by --policy too."""
    from wzbounds.cli import main
    from wzbounds.curves import read_csv

    out, _ = arena_dir
    main(["export", str(out), "--all", "--out", str(tmp_path / "panels")])
    part = tmp_path / "panels" / "natural" / "arena"
    assert (part / "protocol.json").is_file() and (part / "measurements.parquet").is_file()
    merge = read_csv(part / "merge_evict_preserved.csv")
    assert merge.n_samples == 8 and merge.windows.tolist() == [2, 4, 8, 16, 32]
    assert main(["export", str(out), "--policy", "sink", "--mode", "evict", "--out", str(tmp_path / "sink.csv")]) == 2
    assert "measured in the parts arena, ratios of this folder" in capsys.readouterr().err
    assert main(["export", str(out), "--policy", "sink", "--mode", "evict", "--part", "arena", "--out",
                 str(tmp_path / "sink.csv")]) == 0
    assert read_csv(tmp_path / "sink.csv").samples == merge.samples
    assert (tmp_path / "panels" / "natural" / "ratios" / "sliding_recompute_preserved.csv").is_file()


def test_carried_summaries_join_the_arena_only_when_asked():
    """Carried through decoding is token by token: the arena measures it with carried=True, for the
    streaming summaries (quantized's tail is not one), and says so in its recorded configuration."""
    online = lambda p: {spec for spec, mode, _ in p.tasks() if mode == "online"}  # noqa: E731
    assert online(arena_protocol(presses=())) == {"sliding", "sink"}
    carried = online(arena_protocol(presses=(), carried=True))
    assert {"merge", "multiscale:sink=4", "kivi", "pooled"} <= carried and not any("quantized" in s for s in carried)
    assert protocol_config(arena_protocol(presses=()))["carried"] is False
    at_ratios = ratios_protocol(arena_protocol(presses=(), carried=True))
    assert at_ratios.carried is False and online(at_ratios) == set()  # the ratios rank what users run: no decoding
    assert "carried" not in protocol_config(arena_protocol(presses=(), carried=True))


def test_quick_is_a_size_not_a_second_prefix_count(tmp_path, capsys):
    from wzbounds.cli import main

    assert main(["arena", "--quick", "--prefixes", "5", "--out", str(tmp_path / "q"), "--dry-run"]) == 2
    assert "--quick is a size (8 prefixes of 512 tokens per domain, budgets 4..64): give --quick or --prefixes, " \
           "not both" in capsys.readouterr().err and not (tmp_path / "q").exists()
    assert main(["arena", "--quick", "--budgets", "2:8", "--out", str(tmp_path / "q"), "--dry-run"]) == 2
    assert "give --quick or --budgets" in capsys.readouterr().err and not (tmp_path / "q").exists()


def test_the_default_arena_spans_two_decades_and_quick_does_not():
    """The default size can decide faster_decay (budgets over at least MIN_DECADES, all below the
    prefix); --quick, the smaller size, cannot, and its plan says which size it is."""
    import numpy as np

    from validation.arena import BUDGETS, PREFIX_LENGTH, QUICK
    from validation.cli import _plan
    from wzbounds.claims.scaling import MIN_DECADES

    assert np.log10(BUDGETS[-1] / BUDGETS[0]) >= MIN_DECADES and BUDGETS[-1] < PREFIX_LENGTH
    assert np.log10(QUICK["budgets"][-1] / QUICK["budgets"][0]) < MIN_DECADES
    assert _plan(arena_protocol(presses=(), **QUICK)).startswith("8 prefixes of 512 tokens (1 target each) x ")


def test_compare_on_exported_curves_gives_the_arenas_verdicts(arena_dir, tmp_path, capsys):
    """Every contest of arena.json, reproduced to the digit by `wzbounds compare --json` on the curves
    `wzbounds export` writes: each curve carries its policy's bytes and saturated budgets (# memory=,
    # saturated=), and the two rules read them, with the few-documents rule, from the curves."""
    from validation.runs.panels import _file_name
    from wzbounds.cli import main
    from wzbounds.curves import read_csv

    out, _ = arena_dir
    saved = json.loads((out / "arena.json").read_text())
    main(["export", str(out), "--all", "--out", str(tmp_path / "panels")])
    part = tmp_path / "panels" / "natural" / "arena"
    reference = part / "sliding_recompute_preserved.csv"
    quantized = read_csv(part / "quantized_evict_preserved.csv")
    assert quantized.memory is not None and (quantized.memory != 256.0 * quantized.windows).any()  # not tokens
    assert read_csv(part / "kivi_evict_preserved.csv").saturated.all()  # every entry kept: never reach
    decided = set()
    for row in saved["contests"]:
        capsys.readouterr()
        assert main(["compare", str(reference), str(part / _file_name(row["policy"], row["mode"], "preserved")),
                     "--json", "--n-boot", "100"]) == 0
        faster, less = json.loads(capsys.readouterr().out)["verdicts"]
        assert (faster, less) == (row["faster_decay"], row["less_memory"]), row["policy"]
        decided |= {v["outcome"] for v in (faster, less)}
    assert "holds" in decided  # the comparison is not all inconclusive


def test_a_folder_without_the_kv_geometry_exports_tokens_and_says_so(arena_dir, tmp_path, capsys):
    """A results folder written before runs recorded the KV geometry: the curve exports without bytes
    (compare then counts tokens), in so many words; a recorded geometry, sliding layers included,
    reads back as the model's."""
    import shutil

    from validation.runs.costs import Costs
    from wzbounds.cli import main
    from wzbounds.curves import read_csv
    from wzbounds.memory import KVGeometry

    out, _ = arena_dir
    old = tmp_path / "old"
    shutil.copytree(out / "measure" / "natural" / "arena", old)
    manifest = json.loads((old / "manifest.json").read_text())
    assert manifest["config"].pop("kv") == {**KV.__dict__}
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert main(["export", str(old), "--policy", "quantized", "--mode", "evict", "--out", str(tmp_path / "q.csv")]) == 0
    assert "no bytes (the folder predates the recorded KV geometry" in capsys.readouterr().out
    assert read_csv(tmp_path / "q.csv").memory is None
    gemma = KVGeometry(3, 1, 4, 2.0, "g", (512.0, float("inf"), 512.0))
    config = json.loads(json.dumps({"prefix_length": 64, "seed": 0, "bos": "never", "bos_token": None,
                                    "kv": gemma.__dict__}))
    assert Costs.recorded(config).kv == gemma


@pytest.mark.parametrize(("report", "panels"), [("arena-report", "arena"), ("arena-report-quick", "arena-quick"),
                                                ("arena-report-carried", "arena-carried"),
                                                ("arena-report-quick-spaced", "arena-quick-spaced")])
def test_the_committed_arena_reports_are_what_compare_decides_on_their_panels(report, panels):
    """docs/recompare.py on every committed arena report: each contest's two verdicts, re-decided by
    `wzbounds compare` on the committed per-document curves, equal the report's to the digit."""
    import importlib.util
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    spec = importlib.util.spec_from_file_location("recompare", docs / "recompare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.recompare(docs / report / "arena.json", docs / "panels" / panels) == []


def test_several_spaced_targets_per_prefix_in_the_arena_part(tmp_path, write_texts):
    """--targets 2 --target-spacing 8: the arena part measures both targets of every prefix (the
    bootstrap still has one sample per document), the ratios part only the last; bytes are the mean
    over the targets' queries and saturation counts at either, both by hand from the policy."""
    from validation.runs.costs import Costs
    from validation.runs.store import ResultStore

    corpus = write_texts(tmp_path / "texts", 3)
    lm = tiny_model(layers=2)
    report = arena(tmp_path / "arena", lm=lm, corpora={"natural": corpus}, domains=("natural",), presses=(),
                   prefixes=8, prefix_length=48, budgets=(2, 4, 8), n_boot=50, targets=2, target_spacing=8,
                   progress=False)
    store = tmp_path / "arena" / "measure" / "natural"
    arena_part = ResultStore.open(store / "arena").table()
    ratios_part = ResultStore.open(store / "ratios").table()
    assert sorted(set(arena_part["t"].tolist())) == [39, 47] and set(ratios_part["t"].tolist()) == {47}
    assert "2 targets each, 8 positions apart" in (tmp_path / "arena" / "arena.md").read_text()
    costs = Costs.recorded(ResultStore.open(store / "arena").config)
    assert costs.queries == (39, 47)
    pooled = arena_protocol(presses=()).policy("pooled")
    by_hand = [(pooled.cache_bytes(39, k, lm.kv) + pooled.cache_bytes(47, k, lm.kv)) / 2 for k in (2, 4, 8)]
    assert costs.memory("pooled", (2, 4, 8)).tolist() == by_hand
    assert costs.saturated("pooled", (2, 4, 8)).tolist() == [pooled.saturated(39, k, lm.kv) or
                                                             pooled.saturated(47, k, lm.kv) for k in (2, 4, 8)]
    row = next(c for c in report["contests"] if (c["policy"], c["mode"]) == ("pooled", "evict"))
    assert row["bytes"] == [by_hand[0], by_hand[-1]]


@pytest.mark.skipif(importlib.util.find_spec("kvpress") is not None, reason="where kvpress is missing")
def test_a_press_curve_exports_without_bytes_where_kvpress_is_missing():
    """A press's bytes are kvpress's own arithmetic: without kvpress its curve still exports, in
    tokens, and says why, while the window beside it keeps its bytes (compare then refuses the pair
    rather than mixing units)."""
    from validation.data.bos import Bos
    from validation.runs.costs import Costs

    costs = Costs(1024, 0, KV, Bos("never"))
    t = table({("sliding", "recompute"): world(8)[("sliding", "recompute")],
               ("kvpress:SnapKVPress", "evict"): world(8)[("merge", "evict")]}, 8)
    assert costs.unknown("kvpress:SnapKVPress") == "a press's bytes need kvpress, not installed here"
    press, window = costs.curves(t, "kvpress:SnapKVPress", "evict"), costs.curves(t, "sliding", "recompute")
    assert press.memory is None and press.saturated is None and window.memory is not None
    with pytest.raises(ValueError, match="memory is known for the reference only"):
        less_memory(window, press)
