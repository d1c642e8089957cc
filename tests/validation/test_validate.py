"""The validate pipeline end to end on the tiny model: report files, JSON structure, numbers."""

import json
import math

import numpy as np
import pytest

from tests.validation.tiny import tiny_model
from validation.corpora import folder_corpus
from validation.validate import validate


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    corpus_dir = tmp_path_factory.mktemp("texts")
    rng = np.random.default_rng(1)
    words = ["the", "cache", "keeps", "a", "window", "of", "recent", "tokens", "and", "forgets", "rest"]
    for i in range(4):
        (corpus_dir / f"t{i}.txt").write_text(" ".join(rng.choice(words, 600)) + "\n")
    corpus = folder_corpus(corpus_dir)
    out = tmp_path_factory.mktemp("report")
    validate(out, lm=tiny_model(layers=2), corpora={"natural": corpus, "code": corpus}, n_boot=200, progress=False)
    return out


def test_report_files_are_written(report_dir):
    for name in ("report.md", "report.html", "report.json", "decay.png", "kl_vs_tv2.png", "policies.png",
                 "theta_band.png"):
        assert (report_dir / name).stat().st_size > 500, name
    html = (report_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<table>" in html


def test_report_json_structure_and_numbers(report_dir):
    report = json.loads((report_dir / "report.json").read_text())
    assert report["model"]["name"] == "tiny-llama" and report["preset"] == "quick"
    names = {(c["name"], c["domain"]) for c in report["checks"]}
    for domain in ("natural", "code"):
        for name in ("power_vs_exponential", "alpha_tv", "kl_exponent_doubling", "sink_kl_exponent",
                     "recency_vs_random", "bound_prediction", "theta_band_memory", "propagating_faster"):
            assert (name, domain) in names
    for c in report["checks"]:
        assert c["verdict"] in ("holds", "fails", "mixed", "n/a")
        if c["name"] == "alpha_tv":
            a = c["numbers"]["alpha_preserved"]
            assert a["low"] <= a["estimate"] <= a["high"] and math.isfinite(a["estimate"])
            assert c["numbers"]["max_abs_difference_tv"] < 1e-5  # RoPE: preserved == re-indexed
        if c["name"] == "bound_prediction" and c["verdict"] != "n/a":
            n = c["numbers"]
            assert 0 < n["eps"] <= 1 and n["read_at_window"] >= n["predicted_window"]
            assert (n["held_out_tv"] <= n["eps"]) == (c["verdict"] == "holds")
        if c["name"] == "theta_band_memory":
            n = c["numbers"]
            assert all(lo <= up for lo, up in zip(n["gib_lower"], n["gib_upper"]))


def test_a_second_run_resumes_without_measuring_again(report_dir, monkeypatch):
    import validation.measure as measure

    def refuse(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(measure.Engine, "context", refuse)
    corpus = folder_corpus(next(report_dir.parent.glob("texts*")))
    validate(report_dir, lm=tiny_model(layers=2), corpora={"natural": corpus, "code": corpus}, n_boot=100,
             progress=False)


def test_a_failing_mode_is_reported_and_the_rest_is_analysed(tmp_path, monkeypatch, capsys):
    """Online crashing (as it did on sliding-window models) costs its own claims only."""
    from validation.measure import Engine

    def broken(self, ctx, policy, budgets, engine="auto"):
        raise RuntimeError("The size of tensor a (8) must match the size of tensor b (9)")

    monkeypatch.setattr(Engine, "online", broken)
    corpus_dir = tmp_path / "texts"
    corpus_dir.mkdir()
    rng = np.random.default_rng(2)
    for i in range(4):
        (corpus_dir / f"t{i}.txt").write_text(" ".join(rng.choice(["a", "cache", "window", "law"], 700)) + "\n")
    corpus = folder_corpus(corpus_dir)
    report = validate(tmp_path / "out", lm=tiny_model(), corpora={"natural": corpus, "code": corpus}, n_boot=50,
                      progress=False)
    assert len(report["failures"]) == 2 * 2 * 2  # 2 domains x 2 prefixes x (sliding, sink) online
    assert all("online mode" in line and "must match the size" in line for line in report["failures"].values())
    verdicts = {(c["name"], c["domain"]): c["verdict"] for c in report["checks"]}
    assert verdicts[("alpha_tv", "natural")] in ("holds", "fails", "mixed")  # analysed as usual
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Parts that failed" in md and "online mode (sink, preserved) failed" in md
    assert json.loads((tmp_path / "out" / "report.json").read_text())["failures"] == report["failures"]
