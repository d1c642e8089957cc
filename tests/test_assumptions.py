"""The assumption checker on curves whose truth is known."""

import json

import numpy as np
import pytest

from wzbounds.assumptions import MIN_ALPHA, check_assumptions
from wzbounds.bayesrisk import far_symbol
from wzbounds.curves import Curves
from wzbounds.fit import exponent_interval
from wzbounds.sources import ARFIMA, MarkovHMM, PowerLawCopy, RenewalHMM

W = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)


def noisy(curve: np.ndarray, n: int, sd: float, seed: int) -> np.ndarray:
    """n samples of `curve` times mean-one log-normal noise: the population mean is `curve` exactly."""
    rng = np.random.default_rng(seed)
    return curve * np.exp(sd * rng.standard_normal((n, curve.size)) - sd**2 / 2)


@pytest.fixture(scope="module")
def arfima_report():
    curves = ARFIMA(0.3).sample_curves(W, 300, np.random.default_rng(0))
    return curves, check_assumptions(curves, n_boot=400)


def test_arfima_satisfies_pts_reg_br_fd(arfima_report):
    _, r = arfima_report
    assert r.verdict("PTS").holds and r.verdict("GTS").holds is False
    assert r.alpha.covers(0.5)
    assert r.verdict("REG").holds and r.verdict("REG").numbers["R"] == pytest.approx(np.pi / 2, abs=0.1)
    assert r.verdict("BR").holds and r.verdict("BR").numbers["exponent_low"] <= 1.0 <= r.verdict("BR").numbers[
        "exponent_high"]
    assert r.verdict("FD").holds and r.verdict("FD").numbers["K"] == pytest.approx(1.0)
    assert r.verdict("KL").holds is None and r.verdict("BR_mu").holds is None  # no KL_mu for a Gaussian


def test_exponents_are_reported_as_measured_never_raised_to_meet():
    """Finding 3: the KL converse exponent is the fitted beta of Delta with its interval, not
    max(beta, 2 alpha); unsmoothed KL has no achievable exponent to meet. The world is chosen so
    that the two differ: delta ~ w^-0.5 (2 alpha = 1) and Delta ~ w^-0.6, so raising the converse
    to 2 alpha would move it by 0.4, far outside its interval."""
    curves = Curves(W, np.minimum(noisy(0.4 * W**-0.5, 200, 0.2, 1), 1.0), bayes_kl=noisy(0.3 * W**-0.6, 200, 0.2, 2))
    r = check_assumptions(curves, n_boot=400)
    fitted = exponent_interval(curves, "bayes_kl", n_boot=400, fit_range=r.fit_range)
    row = r.exponent("kl")
    assert (row.converse.estimate, row.converse.low, row.converse.high) == (fitted.estimate, fitted.low, fitted.high)
    assert row.converse.high < 2 * r.alpha.low  # the raised value would lie outside the reported interval
    assert row.converse.estimate == pytest.approx(0.6, abs=0.05)
    assert row.achievable is None and row.meet is None
    assert r.exponent("kl_mu").converse is None  # no Delta_mu given: no KL_mu converse from Delta


def test_meet_fails_when_the_converse_exponent_differs_and_is_inconclusive_on_three_documents():
    w = W
    delta, gap_mu = 0.4 * w**-0.5, 0.3 * w**-0.8  # achievable KL_mu exponent 1.0 under REG; converse 0.8
    many = Curves(w, np.minimum(noisy(delta, 200, 0.2, 1), 1.0), kl=noisy(gap_mu, 200, 0.2, 2), mu=0.1,
                  bayes_kl_mu=noisy(gap_mu, 200, 0.2, 2))
    r = check_assumptions(many, n_boot=300)
    assert r.verdict("REG").holds and r.exponent("kl_mu").factor == 2.0
    assert r.exponent("kl_mu").meet.outcome == "fails"
    few = Curves(w, np.minimum(noisy(delta, 3, 1.0, 3), 1.0), kl=noisy(gap_mu, 3, 1.0, 4), mu=0.1, bayes_kl_mu=noisy(gap_mu, 3, 1.0, 4))
    on_three = check_assumptions(few, n_boot=300)
    assert on_three.verdict("PTS").reason.startswith("not decided by rule: 3 documents, fewer than 8")
    assert on_three.exponent("kl_mu").meet is None and on_three.band_upper is None  # nothing established, no window


def test_fewer_than_eight_samples_decide_no_hypothesis_and_print_no_window():
    """A clean power law that the checker decides on 8 documents is decided on none of 7 or 2."""
    delta = 0.5 * W**-0.5
    eight = Curves(W, np.minimum(noisy(delta, 8, 0.1, 5), 1.0))
    assert check_assumptions(eight, n_boot=300).verdict("PTS").holds
    for n in (7, 2):
        r = check_assumptions(eight.subset(range(n)), n_boot=300)
        assert all(v.outcome == "inconclusive" for v in r.verdicts), [v.outcome for v in r.verdicts]
        assert r.band_upper is None and r.band_lower is None


def test_kl_mu_converse_comes_from_the_smoothed_gap_not_from_delta():
    """Finding 1, the counterexample: Delta = ln 5 w^-1/2 (BR with beta = 1/2), Delta_mu ~ 19/w."""
    w = np.geomspace(10, 1e5, 9).round()
    problems = [far_symbol(x**-0.5) for x in w]
    gap = np.array([p.bayes_risk_kl() for p in problems])
    gap_mu = np.array([p.bayes_risk_kl_mu(0.1) for p in problems])
    gap_tv = np.array([p.bayes_risk_tv() for p in problems])
    np.testing.assert_allclose(gap * w**0.5, np.log(5), rtol=1e-12)
    assert gap_mu[0] * w[0] ** 0.5 == pytest.approx(1.03, abs=0.01) and gap_mu[-1] * w[-1] ** 0.5 == pytest.approx(
        0.058, abs=0.001)
    curves = Curves(w, noisy(gap_tv, 40, 0.05, 0), kl=noisy(gap_mu, 40, 0.05, 1), mu=0.1,
                    bayes_kl=noisy(gap, 40, 0.05, 2), bayes_kl_mu=noisy(gap_mu, 40, 0.05, 1),
                    bayes_tv=noisy(gap_tv, 40, 0.05, 0))
    r = check_assumptions(curves, n_boot=300)
    assert r.exponent("kl").converse.estimate == pytest.approx(0.5, abs=0.02)
    kl_mu = r.exponent("kl_mu")
    assert kl_mu.converse is None or kl_mu.converse.low > 0.7  # from Delta_mu (local slope 0.6..0.97), never 0.5
    if kl_mu.converse is None:
        assert kl_mu.converse_from == "BR_mu not established"
    else:
        assert kl_mu.converse_from.startswith("BR_mu: the fitted law of Delta_mu")
    assert "Delta," not in kl_mu.converse_from and "BR:" not in kl_mu.converse_from


def test_no_converse_window_overstates_impossibility():
    """Finding 2: delta = 0.5 w^-0.5, Delta_TV = 0.5 w^-1 (FD fails). The lower end must come from
    Delta_TV's own law: E TV >= Delta_TV/2 = 0.25/w, so no lower end above 2.5e4 at eps = 1e-5."""
    delta, gap_tv = 0.5 * W**-0.5, 0.5 * W**-1.0
    curves = Curves(W, noisy(delta, 100, 0.1, 0), bayes_tv=np.minimum(noisy(gap_tv, 100, 0.1, 1), 1.0))
    r = check_assumptions(curves, eps=[1e-5], n_boot=300)
    assert r.verdict("FD").holds is False
    assert r.band_lower is not None and r.band_lower[0] <= 2.5e4 * 1.1  # was 6.4e5 with delta's alpha
    assert r.band_lower[0] >= 2.5e4 * 0.8


def test_no_converse_window_when_br_and_fd_fail():
    delta, gap_tv = 0.5 * W**-0.5, 0.5 * 0.7**W
    curves = Curves(W, noisy(delta, 100, 0.1, 0), bayes_tv=noisy(gap_tv, 100, 0.1, 1))
    r = check_assumptions(curves, n_boot=300)
    assert r.verdict("BR_TV").holds is False and r.verdict("FD").holds is False
    assert r.band_lower is None and r.band_upper is not None
    assert "lower end: none" in r.to_text()


def test_band_brackets_the_true_window(arfima_report):
    _, r = arfima_report
    exact = ARFIMA(0.3).exact_curves(r.band_upper)
    assert np.all(exact.delta <= r.eps)  # the achievable end reaches eps
    assert np.all(r.band_lower <= r.band_upper)


def test_copy_source_reports_the_kl_exponent_honestly():
    curves = PowerLawCopy(V=50000, context=4096).sample_curves(W[:10], 60, np.random.default_rng(0))
    r = check_assumptions(curves, n_boot=300)
    assert r.verdict("PTS").holds and r.verdict("REG").holds
    kl = r.verdict("KL")  # the ratio is near 2, but the KL exponent bends: never "holds"
    assert kl.holds is None and kl.numbers["bend_kl"] > 1.1 and "bend" not in kl.reason.split(":")[0]
    assert r.verdict("BR").holds is None and r.verdict("FD").holds is None
    assert r.band_lower is None and r.exponent("kl_mu").converse is None


def test_markov_control_is_geometric_and_gets_geometric_windows():
    w = np.array([1, 2, 3, 4, 6, 8, 12, 16.0])
    r = check_assumptions(MarkovHMM(context=256).sample_curves(w, 150, np.random.default_rng(0)), n_boot=300)
    assert r.verdict("GTS").holds and r.verdict("PTS").holds is False
    assert r.exponent("tv").achievable is None and r.band_lower is None
    assert np.all(r.band_upper < 100)
    assert "GTS" in r.to_text()


def test_three_documents_are_inconclusive_not_failing():
    rng = np.random.default_rng(5)
    curves = Curves(W, np.minimum(0.5 * W**-0.5 * np.exp(rng.standard_normal((3, W.size))), 1.0))
    r = check_assumptions(curves, n_boot=300)
    assert all(v.outcome in ("holds", "inconclusive") for v in r.verdicts if v.claim in ("PTS", "REG"))


def test_report_serialises_to_json_and_text():
    curves = RenewalHMM(max_age=128, context=256).sample_curves([1, 2, 4, 8, 16, 32], 40, np.random.default_rng(0))
    r = check_assumptions(curves, n_boot=100, eps=[0.05])
    data = json.loads(r.to_json())
    assert [v["claim"] for v in data["verdicts"]] == ["PTS", "GTS", "REG", "KL", "BR_TV", "BR_mu", "BR", "FD"]
    assert {v["outcome"] for v in data["verdicts"]} <= {"holds", "fails", "inconclusive"}
    assert data["windows_for_eps"]["eps"] == [0.05]
    assert [e["distortion"] for e in data["exponents"]] == ["tv", "kl_mu", "kl"]
    assert "alpha_TV" in r.to_text()


def test_bad_eps_is_refused():
    curves = ARFIMA(0.3).sample_curves([1, 2, 4], 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"eps must be in \(0, 1\]"):
        check_assumptions(curves, eps=[2.0], n_boot=20)


def _panel(rng, W, C, alpha, n=200, spread=0.3):
    return np.clip(C * W**-alpha * rng.lognormal(0, spread, (n, W.size)), 0, 1)


@pytest.mark.parametrize("seed", range(6))
def test_the_theta_case_keeps_its_lower_end_when_the_exponent_intervals_overlap(seed):
    """delta and Delta_TV both 0.5 w^-0.5: the fitted converse exponent lands a little below the
    achievable one on about half the seeds; intervals that overlap do not contradict, so the lower
    end stays (it was dropped with 'contradict'). True ends at eps = 1e-2: 625 and 2500 tokens."""
    rng = np.random.default_rng(seed)
    W = 2.0 ** np.arange(0, 11)
    report = check_assumptions(Curves(W, _panel(rng, W, 0.5, 0.5), bayes_tv=_panel(rng, W, 0.5, 0.5)),
                               eps=[1e-2], n_boot=300, seed=seed)
    assert "contradict" not in report.to_text()
    assert report.band_lower is not None and 400 < report.band_lower[0] < 625 * 1.5
    assert 2500 * 0.6 < report.band_upper[0] < 2500 * 1.6


def test_a_converse_exponent_wholly_below_the_achievable_one_contradicts_and_gives_no_lower_end():
    rng = np.random.default_rng(0)
    W = 2.0 ** np.arange(0, 11)
    report = check_assumptions(Curves(W, _panel(rng, W, 0.5, 0.6), bayes_tv=_panel(rng, W, 0.5, 0.3)),
                               eps=[1e-2], n_boot=300)
    assert report.band_lower is None
    assert any("contradicts" in note for note in report.band_notes)


def test_a_rising_curve_fails_pts_and_gts_instead_of_raising():
    """delta rising as w^0.2: no power law with a positive exponent bounds it, nor a geometric law;
    no window is printed (it raised 'alpha must be finite and > 0', an argument the user never gave)."""
    rng = np.random.default_rng(0)
    W = 2.0 ** np.arange(0, 7)
    report = check_assumptions(Curves(W, _panel(rng, W, 0.1, -0.2, n=50)), n_boot=200)
    assert report.verdict("PTS").outcome == "fails" and report.verdict("GTS").outcome == "fails"
    assert report.band_upper is None and report.band_lower is None


def test_a_constant_curve_fails_pts_and_gets_no_window():
    """A flat delta (0.3 with 2% noise): the exponent interval straddles 0 but lies below MIN_ALPHA,
    so no power law bounds it usefully: PTS fails (it was inconclusive) and no window is printed."""
    rng = np.random.default_rng(4)
    W = 2.0 ** np.arange(0, 6)
    report = check_assumptions(Curves(W, 0.3 + 0.006 * rng.random((10, W.size))), n_boot=200)
    alpha = report.alpha
    assert alpha.low < 0 < alpha.high < MIN_ALPHA
    assert report.verdict("PTS").outcome == "fails" and "does not decay" in report.verdict("PTS").reason
    assert report.band_upper is None


def _documents(f, seed, n=100):
    """Curves f(w) with a per-document effect (70% spread, correlated across windows) and a 20%
    per-window noise: the shape of measured curves, on windows 1..1024."""
    rng = np.random.default_rng(seed)
    return Curves(W, np.clip(f(W) * rng.lognormal(-0.245, 0.7, (n, 1)) * rng.lognormal(-0.02, 0.2, (n, W.size)), 0, 1))


def test_pts_never_holds_on_logarithmic_decay_and_holds_on_power_laws():
    """0.3 / ln(w + 2) extrapolates better as a power law than as a geometric one, yet exceeds every
    power law eventually: its local exponent falls (about 0.7 from the lower to the upper half of
    32..1024). 0 of 40 draws may say PTS holds; a power law, bent or not, holds in at least 36."""
    log = [check_assumptions(_documents(lambda w: 0.3 / np.log(w + 2), s), n_boot=300, seed=s) for s in range(40)]
    assert not [r for r in log if r.verdict("PTS").outcome == "holds"]
    assert all(r.band_upper is None for r in log)  # no window from a law that is not established
    for f in (lambda w: 0.8 * w**-0.4, lambda w: 0.8 * (w + 4) ** -0.4):
        got = [check_assumptions(_documents(f, s), n_boot=300, seed=s).verdict("PTS").outcome for s in range(40)]
        assert got.count("holds") >= 36, got


def test_the_report_says_how_its_fit_range_was_chosen_and_what_it_left_out():
    """At the two largest windows one sample of 60 carries the mean (a heavy tail, as on the renewal
    HMM): those windows are left out of the fit, and the report says which and why. Fewer than 3
    windows: one clear error."""
    tv = np.tile(0.5 * W**-0.5, (60, 1)) * np.random.default_rng(0).lognormal(0, 0.1, (60, W.size))
    tv[1:, -2:] = 1e-6
    report = check_assumptions(Curves(W, tv), n_boot=100)
    assert report.fit_range[1] == 256.0
    assert "upper half, on the log scale" in report.fit_note
    assert "windows 512..1024 left out" in report.fit_note and "20%" in report.fit_note
    assert report.fit_note in report.to_text()
    with pytest.raises(ValueError, match="at least 3 windows"):
        check_assumptions(Curves(W[:2], np.full((5, 2), 0.5)), n_boot=100)
