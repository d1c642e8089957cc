"""The arena's reports (validation.reports.arena) rendered from results made by hand: every standing
in the CSV, the ranking and verdicts in the markdown, the reference drawn as the suffix-only line."""

import csv

import numpy as np

from validation.reports.arena import contest_row, standing_row, write_arena
from validation.runs.contests import Contest, Standing
from wzbounds.fit import Interval
from wzbounds.verdict import HOLDS, INCONCLUSIVE, Verdict


def iv(x, half=0.01):
    return Interval(x, x - half, x + half, 0.0, 0.95, np.empty(0))


def standings():
    rows = []
    for policy, mode, kind, scale in (("sliding", "recompute", "kept", 1.0), ("merge", "evict", "summary", 0.7),
                                      ("kvpress:SnapKVPress", "evict", "press", 1.3)):
        for k in (4, 8, 16):
            tv = scale * k ** -0.5
            rows.append(Standing("natural", policy, mode, kind, k, 2048.0 * k, 12, iv(tv), iv(2 * tv), iv(1.5 * tv),
                                 2.0 * tv))
    return rows


def contests():
    faster = Verdict("faster_decay", HOLDS, "steeper and better at the top budget", (1.2, 1.4),
                     {"estimate": 1.3, "top_ratio": 0.6, "top_ratio_low": 0.5, "top_ratio_high": 0.7})
    less = Verdict("less_memory", INCONCLUSIVE, "the interval contains 1", (0.8, 1.1), {"ratio": 0.9, "eps": 0.1})
    press = Verdict("faster_decay", INCONCLUSIVE, "straddles", (0.8, 1.2), {"estimate": 1.0})
    return [Contest("natural", "merge", "evict", faster, less, None, (8192.0, 32768.0), True),
            Contest("natural", "kvpress:SnapKVPress", "evict", press, less, None, (8192.0, 32768.0), False)]


def report():
    return {"model": {"name": "tiny", "dtype": "float32", "device": "cpu", "kv_bytes_per_token": 2048,
                      "kv_layout": "2 layers", "bos": "no BOS", "bos_rule": "auto"},
            "protocol": {"prefixes": 12, "prefix_length": 64, "budgets": [4, 8, 16]}, "fit_range": [8, 16],
            "domains": ["natural"], "synthetic": [{"source": "two-state Markov HMM", "eps": 0.01, "window": 12.0,
                                                   "window_nats": 8.3, "summary_nats": 4.6}],
            "failures": {}, "seconds": 1.0}


def test_every_standing_is_a_csv_row_and_the_ranking_follows_mean_tv(tmp_path):
    write_arena(tmp_path, report(), standings(), contests(), ("sliding", "recompute"))
    rows = list(csv.DictReader((tmp_path / "leaderboard.csv").open()))
    assert len(rows) == 9 and {r["policy"] for r in rows} == {"sliding", "merge", "kvpress:SnapKVPress"}
    assert float(rows[0]["tv_mean"]) == 4 ** -0.5
    board = (tmp_path / "leaderboard.md").read_text()
    ranked = [line.split("|")[2].strip() for line in board.splitlines() if line.startswith("| 1 ")
              or line.startswith("| 2 ") or line.startswith("| 3 ")]
    assert ranked == ["merge", "sliding", "kvpress:SnapKVPress"]  # budget 8, lower mean TV first
    assert "| reference |" in board  # the reference has no ratio to itself


def test_the_arena_page_gives_each_verdict_and_leaves_presses_unjudged(tmp_path):
    write_arena(tmp_path, report(), standings(), contests(), ("sliding", "recompute"))
    page = (tmp_path / "arena.md").read_text()
    assert "- merge (evict): faster_decay holds: steeper and better at the top budget" in page
    assert "- merge (evict): less_memory inconclusive: the interval contains 1" in page
    assert "| merge | evict | 8..32 | 1.3 [1.2, 1.4] | 0.6 [0.5, 0.7] | 0.9 [0.8, 1.1] |  | **holds** | " \
           "**inconclusive** |" in page
    assert "(a press: ranked, not judged)" in page
    assert "| two-state Markov HMM | 0.01 | 12 | 8.3 | 4.6 |" in page
    assert (tmp_path / "arena.png").stat().st_size > 0 and (tmp_path / "leaderboard.png").stat().st_size > 0


def test_nothing_measured_still_writes_every_page(tmp_path):
    write_arena(tmp_path, {**report(), "failures": {"natural|x": "natural: it failed"}}, [], [], ("sliding", "recompute"))
    assert "Nothing was measured." in (tmp_path / "leaderboard.md").read_text()
    assert "- natural: it failed" in (tmp_path / "arena.md").read_text()
    assert not (tmp_path / "arena.png").exists()


def test_rows_carry_intervals_and_the_one_verdict_serialisation():
    s = standing_row(standings()[0])
    assert s["tv"] == {"estimate": 0.5, "low": 0.49, "high": 0.51} and s["bytes"] == 8192.0
    c = contest_row(contests()[0])
    assert c["faster_decay"] == contests()[0].faster.to_dict() and c["less_memory"] == contests()[0].less.to_dict()
    assert c["words"] == "faster decay: holds; less memory: inconclusive" and c["judged"]
    assert contest_row(contests()[1])["words"] == "" and not contest_row(contests()[1])["judged"]
