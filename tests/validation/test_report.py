"""The report renders what was decided: the tally counts evidence only, engine checks apart; the
HTML colours each verdict; an inconclusive claim says how many documents would decide it."""

from validation.reports.report import COLOURS, html_page, markdown, summary


def finding(claim, outcome, kind="evidence", **numbers):
    return {"claim": claim, "outcome": outcome, "reason": f"{claim} because", "interval": [0.9, 1.3],
            "numbers": {"estimate": 1.05, "fit_range": [8.0, 64.0], **numbers}, "domain": "natural",
            "statement": f"the statement of {claim}", "kind": kind, "paper": None}


REPORT = {
    "model": {"name": "m", "dtype": "float32", "device": "cpu", "bos": "no BOS"},
    "preset": "quick", "domains": ["natural"], "seconds": 1.0, "flags": [], "failures": {},
    "protocols": {"main": {"prefixes": 32, "prefix_length": 256, "targets": 1, "budgets": [1, 64]}},
    "checks": [finding("alpha_tv", "holds"), finding("kl_doubling", "inconclusive", documents_to_decide=800, mu=0.1),
               finding("position_ablation", "holds", kind="engine check", identity=True),
               finding("recency_vs_random", "fails")],
}


def test_the_tally_counts_evidence_and_names_engine_checks_apart():
    text = " ".join(summary(REPORT))
    assert "1 claims hold, 1 fail and 1 are inconclusive" in text
    assert "Not counted: 1 engine checks" in text


def test_the_verdict_table_has_the_kind_and_the_why_says_how_many_documents_would_decide():
    md = markdown(REPORT, {})
    assert "| position_ablation | natural | **holds** | engine check |" in md
    assert "kl_doubling because. Roughly 800 documents would decide it" in md  # one sentence each


def test_html_colours_every_verdict_cell(tmp_path):
    page = html_page(markdown(REPORT, {}), tmp_path, {})
    for outcome in ("holds", "fails", "inconclusive"):
        assert f"<td style='background:{COLOURS[outcome]}'><b>{outcome}</b></td>" in page
