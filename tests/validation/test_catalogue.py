"""The catalogue (validation.runs.claims): each claim decided by its wzbounds.claims rule on a domain's
curves, the same verdict as the command a user runs on the same curves, and the edge cases of the
catalogue itself. The rules' wrong-verdict rates are measured on worlds resampled from real panels
in tests/test_claims_calibration.py."""

import numpy as np

from validation.runs.claims import CATALOGUE, MIN_DOCUMENTS, DomainData, decide
from wzbounds import claims as rules
from wzbounds.assumptions import check_assumptions
from wzbounds.curves import Curves
from wzbounds.memory import KVGeometry
from wzbounds.sources.hmm import MarkovHMM
from wzbounds.sources.panel import power_law_panel

KV = KVGeometry(30, 3, 64, 4.0, "smollm2-like")
BUDGETS = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)


def world(n: int, seed: int = 1) -> DomainData:
    g = np.random.default_rng(seed)

    def panel(C, alpha):
        c = power_law_panel(C, alpha, BUDGETS, n, g)
        return Curves(c.windows, c.tv, kl=1.5 * c.tv**2, mu=0.1)

    sliding = panel(0.8, 0.4)
    return DomainData("natural", sliding, sliding, panel(0.5, 0.4), 4, panel(0.9, 0.05),
                      {"sliding-evict": panel(0.8, 0.6)})


def findings(data, seed=0):
    return {f.name: f for f in decide(data, KV, n_boot=200, seed=seed)}


def test_fewer_documents_than_the_minimum_are_inconclusive_on_every_claim():
    got = findings(world(MIN_DOCUMENTS - 1))
    assert {f.outcome for f in got.values()} == {"inconclusive"}
    assert set(got) == {c.id for c in CATALOGUE} | {"propagating_sliding_evict"}


def test_the_geometric_hmm_fails_the_power_law_and_gets_no_window():
    source = MarkovHMM(transition=((0.95, 0.05), (0.05, 0.95)))
    sliding = source.sample_curves(BUDGETS, 32, np.random.default_rng(2))
    got = findings(DomainData("natural", sliding, None, None, 4, None, {}))
    assert got["power_law"].outcome == "fails"
    assert got["theta_band"].outcome == "fails" and "upper_windows" not in got["theta_band"].verdict.numbers
    for name in ("position_ablation", "sink_recovery", "recency_vs_random"):  # not measured: said so
        assert got[name].outcome == "inconclusive" and "not measured" in got[name].verdict.reason


def test_the_same_curves_give_the_checkers_theta_window_and_kl_verdict():
    """validate once printed the window 19393 where check printed 20492 on the same curves, and
    kl_doubling "holds" where the checker said "inconclusive": now both come from one report."""
    data = world(32, seed=7)
    got = findings(data, seed=3)
    report = check_assumptions(data.sliding, eps=rules.THETA_EPS, n_boot=200, seed=3)
    theta = got["theta_band"].verdict
    assert report.verdict("PTS").outcome == "holds"  # this draw gives a window
    assert theta.numbers["upper_windows"] == report.band_upper.tolist()
    assert theta.numbers["estimate"] == report.band_upper[-1]
    kl = report.verdict("KL")
    assert (got["kl_doubling"].outcome, got["kl_doubling"].verdict.interval) == (kl.outcome, kl.interval)
    assert (got["power_law"].outcome, got["power_law"].verdict.interval) == (report.verdict("PTS").outcome,
                                                                            report.verdict("PTS").interval)


def test_an_identity_is_an_engine_check_and_a_real_difference_is_evidence():
    data = world(32)
    assert findings(data)["position_ablation"].kind == "engine check"
    shifted = Curves(data.sliding.windows, data.sliding.tv * 0.9, kl=data.sliding.kl, mu=0.1)
    other = DomainData(data.domain, data.sliding, shifted, data.sink, data.n_sink, data.random, {})
    f = findings(other)["position_ablation"]
    assert f.kind == "evidence" and f.outcome == "holds" and not f.verdict.numbers["identity"]
