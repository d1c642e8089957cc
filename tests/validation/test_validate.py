"""The validate pipeline end to end on the tiny model: report files, JSON structure, numbers."""

import json
import math

import pytest

from validation.data.corpora import folder_corpus
from validation.runs.presets import presets
from validation.testing.tiny import tiny_model
from validation.validate import validate


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, write_texts):
    corpus = write_texts(tmp_path_factory.mktemp("validate-texts"), 1)
    out = tmp_path_factory.mktemp("report")
    validate(out, lm=tiny_model(layers=2), corpora={"natural": corpus, "code": corpus}, n_boot=200, progress=False)
    return out


def test_report_files_are_written(report_dir):
    for name in ("report.md", "report.html", "report.json", "decay.png", "kl_vs_tv2.png", "policies.png",
                 "theta_band.png"):
        assert (report_dir / name).stat().st_size > 500, name
    html = (report_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<table>" in html
    md = (report_dir / "report.md").read_text()
    assert md.index("On **natural**") < md.index("## Verdicts") < md.index("## This run beside the paper") < \
        md.index("## Figures")


def test_every_verdict_has_the_one_vocabulary_its_interval_and_fit_range(report_dir):
    report = json.loads((report_dir / "report.json").read_text())
    assert report["model"]["name"] == "tiny-llama" and report["preset"] == "quick"
    assert report["protocols"]["main"]["prefixes"] >= 32 and report["protocols"]["main"]["targets"] == 1
    names = {(c["claim"], c["domain"]) for c in report["checks"]}
    for domain in ("natural", "code"):
        for name in ("power_law", "alpha_tv", "alpha_paper", "position_ablation", "kl_doubling", "sink_recovery",
                     "recency_vs_random", "recency_two_orders", "bound_prediction", "theta_band",
                     "propagating_sliding_evict", "propagating_sink_evict"):
            assert (name, domain) in names
    for c in report["checks"]:
        # the one serialisation: Verdict.to_dict and where it was decided
        assert set(c) == {"claim", "outcome", "reason", "interval", "numbers", "domain", "statement", "kind", "paper"}
        assert c["outcome"] in ("holds", "fails", "inconclusive"), c
        assert c["reason"] and c["statement"]
        if c["interval"] is not None:
            assert c["interval"][0] <= c["interval"][1], c
        n = c["numbers"]
        if c["claim"] in ("alpha_tv", "alpha_paper", "power_law", "kl_doubling"):
            assert n["fit_range"][1] == 64.0  # the checker's range: the upper half of the measured budgets
        if c["claim"] == "bound_prediction" and c["interval"] is not None:
            assert n["fit_range"][1] == 32.0  # the same range without its top budget: it predicts beyond
        if c["claim"] == "sink_recovery" and c["interval"] is not None:
            assert n["fit_range"][0] >= 8  # above twice the 4 sinks
        if c["claim"] == "alpha_tv":
            assert math.isfinite(n["estimate"]) and len(n["local_slopes"]) >= 1
        if c["claim"].startswith("recency"):
            assert n["budget"] == 64.0 and len(n["by_budget"]) == 7
        if c["claim"] == "recency_two_orders":  # 64 < 256: not a large budget, the reach extrapolated
            assert c["outcome"] == "inconclusive" and "reach_budget" in n
        if c["claim"] == "position_ablation":  # RoPE, contiguous window, no BOS: an identity
            assert n["identity"] and c["kind"] == "engine check" and c["outcome"] == "holds"
        elif not c["claim"].startswith("propagating"):
            assert c["kind"] == "evidence"


def test_a_second_run_resumes_without_measuring_again(report_dir, monkeypatch):
    import validation.engine as measure

    def refuse(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(measure.Engine, "context", refuse)
    corpus = folder_corpus(next(report_dir.parent.glob("validate-texts*")))
    validate(report_dir, lm=tiny_model(layers=2), corpora={"natural": corpus, "code": corpus}, n_boot=100,
             progress=False)


def test_presets_meet_their_sample_sizes():
    for name in ("quick", "standard", "full"):
        parts = presets(name, "m", 32768)
        assert parts["main"].prefixes >= 32 and parts["main"].targets == 1
    standard = presets("standard", "m", 32768)
    assert standard["main"].prefix_length == 1024 and max(standard["main"].budgets) == 512
    assert set(standard["main"].policies) == {"sliding", "sink", "random", "heavy", "h2o", "snapkv"}
    assert set(standard["online"].policies) == {"sliding", "sink"}
    mine = presets("quick", "m", 4096, policies=("snapkv:window=4",), modes=("evict",))
    assert mine["main"].policies == ("sliding", "snapkv:window=4") and mine["main"].modes == ("recompute", "evict")


def test_a_failing_mode_is_reported_and_the_rest_is_analysed(tmp_path, monkeypatch, write_texts):
    """Evict crashing (as online did on sliding-window models) costs its own claims only."""
    from validation.engine import Engine

    def broken(self, ctx, policy, budgets, method="auto"):
        raise RuntimeError("The size of tensor a (8) must match the size of tensor b (9)")

    monkeypatch.setattr(Engine, "evict", broken)
    corpus = write_texts(tmp_path / "texts", 2)
    report = validate(tmp_path / "out", lm=tiny_model(), corpora={"natural": corpus}, domains=("natural",),
                      n_boot=50, progress=False)
    assert len(report["failures"]) == 32 * 4  # 32 prefixes x the four policies in evict mode
    assert all("evict mode" in line and "must match the size" in line for line in report["failures"].values())
    verdicts = {c["claim"]: c["outcome"] for c in report["checks"]}
    assert "propagating_sliding_evict" not in verdicts  # nothing to decide it on
    assert verdicts["alpha_tv"] in ("holds", "fails", "inconclusive") and "alpha_tv" in verdicts
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Parts that failed" in md and "evict mode (sink, preserved) failed" in md
    assert json.loads((tmp_path / "out" / "report.json").read_text())["failures"] == report["failures"]


def test_user_domains_policies_and_modes(tmp_path, write_texts):
    corpus = write_texts(tmp_path / "mine", 3)
    report = validate(tmp_path / "out", lm=tiny_model(), domains=(str(tmp_path / "mine"),),
                      corpora={str(tmp_path / "mine"): corpus}, policies=("snapkv:window=4",), modes=("evict",),
                      n_boot=50, progress=False)
    assert report["domains"] == ["mine"]
    assert report["protocols"]["main"]["hyperparameters"]["snapkv:window=4"] == {"policy": "snapkv", "window": 4,
                                                                                  "kernel": 5}
    assert {c["claim"] for c in report["checks"]} >= {"propagating_snapkv:window=4_evict", "alpha_tv"}
    assert "alpha_paper" not in {c["claim"] for c in report["checks"]}  # the paper has no value for "mine"


def test_bos_rule_reaches_every_part_and_the_report(tmp_path, write_texts):
    """--bos never on a tokenizer that adds a BOS: every part is measured without it, and the report
    says so; --bos always on a tokenizer with no BOS token is one error before anything is written."""
    corpus = write_texts(tmp_path / "texts", 4)
    report = validate(tmp_path / "out", lm=tiny_model(bos=True), corpora={"natural": corpus}, domains=("natural",),
                      modes=("recompute",), policies=("sink",), bos="never", n_boot=50, progress=False)
    assert report["protocols"]["main"]["bos"] == "never" and report["model"]["bos"] == "no BOS (--bos never)"
    config = json.loads((tmp_path / "out" / "measure" / "natural" / "main" / "manifest.json").read_text())["config"]
    assert config["bos"] == "never" and config["bos_token"] is None
    assert "no BOS (--bos never)" in (tmp_path / "out" / "report.md").read_text()
    with pytest.raises(ValueError, match="has no BOS token"):
        validate(tmp_path / "other", lm=tiny_model(), corpora={"natural": corpus}, domains=("natural",),
                 bos="always", n_boot=50, progress=False)
    assert not (tmp_path / "other").exists()


def test_check_on_the_exported_curves_gives_validates_verdicts(report_dir, capsys):
    """One analysis layer: the sliding window's curves exported from the run, fed to `wzbounds check`
    with the same resamples, give report.json's power_law (PTS), kl_doubling (KL) and Theta window."""
    from validation.data.corpora import folder_corpus
    from wzbounds.cli import main

    corpus = folder_corpus(next(report_dir.parent.glob("validate-texts*")))
    report = validate(report_dir, lm=tiny_model(layers=2), corpora={"natural": corpus, "code": corpus}, n_boot=200,
                      progress=False)  # resumed: decided again with 200 resamples, whatever ran before
    csv = report_dir.parent / "sliding-export.csv"
    assert main(["export", str(report_dir), "--domain", "natural", "--policy", "sliding", "--out", str(csv)]) == 0
    capsys.readouterr()
    assert main(["check", str(csv), "--eps", "0.1,0.03,0.01", "--n-boot", "200", "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)["assumptions"]
    by = {v["claim"]: v for v in checked["verdicts"]}
    report = json.loads((report_dir / "report.json").read_text())
    got = {c["claim"]: c for c in report["checks"] if c["domain"] == "natural"}
    for mine, theirs in (("power_law", "PTS"), ("kl_doubling", "KL")):
        assert (got[mine]["outcome"], got[mine]["interval"]) == (by[theirs]["outcome"], by[theirs]["interval"])
    upper = checked["windows_for_eps"]["upper"]
    assert got["theta_band"]["numbers"].get("upper_windows") == upper  # both None when PTS does not hold
