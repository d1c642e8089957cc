"""The assumption checker on sources whose truth is known."""

import json

import numpy as np
import pytest

from wzbounds.assumptions import check_assumptions
from wzbounds.sources import ARFIMA, MarkovHMM, PowerLawCopy, RenewalHMM

W = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)


@pytest.fixture(scope="module")
def arfima_report():
    curves = ARFIMA(0.3).sample_curves(W, 300, np.random.default_rng(0))
    return check_assumptions(curves, n_boot=400)


def test_arfima_satisfies_pts_reg_br_fd_and_the_exponents_meet(arfima_report):
    r = arfima_report
    assert r.verdict("PTS").holds and not r.verdict("GTS").holds
    assert r.alpha.covers(0.5) or abs(r.alpha.estimate - 0.5) < 0.02
    assert r.verdict("REG").holds and r.verdict("REG").numbers["R"] == pytest.approx(np.pi / 2, abs=0.1)
    assert r.verdict("BR").holds and r.verdict("BR").numbers["beta_low"] < 1.0 + 0.03
    assert r.verdict("FD").holds and r.verdict("FD").numbers["K"] == pytest.approx(1.0)
    assert r.exponent_table.matched_kl
    assert r.verdict("KL").holds is None


def test_band_brackets_the_true_window(arfima_report):
    r = arfima_report
    exact = ARFIMA(0.3).exact_curves(r.band_upper)
    assert np.all(exact.delta <= r.eps)  # the achievable end reaches eps
    assert np.all(r.band_lower <= r.band_upper)


def test_copy_source_reports_the_kl_exponent_honestly():
    curves = PowerLawCopy(V=50000, context=4096).sample_curves(W[:10], 60, np.random.default_rng(0))
    r = check_assumptions(curves, n_boot=300)
    assert r.verdict("PTS").holds and r.verdict("REG").holds
    assert r.verdict("KL").holds is False
    assert r.verdict("BR").holds is None and r.verdict("FD").holds is None
    assert r.band_lower is None and r.exponent_table.converse_kl is None


def test_markov_control_is_geometric_and_gets_geometric_windows():
    w = np.array([1, 2, 3, 4, 6, 8, 12, 16.0])
    r = check_assumptions(MarkovHMM(context=256).sample_curves(w, 150, np.random.default_rng(0)), n_boot=300)
    assert r.verdict("GTS").holds and not r.verdict("PTS").holds
    assert r.exponent_table is None and r.band_lower is None
    assert np.all(r.band_upper < 100)
    assert "geometric law wins" in r.to_text()


def test_report_serialises_to_json_and_text():
    curves = RenewalHMM(max_age=128, context=256).sample_curves([1, 2, 4, 8, 16, 32], 40, np.random.default_rng(0))
    r = check_assumptions(curves, n_boot=100, eps=[0.05])
    data = json.loads(r.to_json())
    assert [v["hypothesis"] for v in data["verdicts"]] == ["PTS", "GTS", "REG", "KL", "BR", "FD"]
    assert data["windows_for_eps"]["eps"] == [0.05]
    assert "alpha_TV" in r.to_text()


def test_bad_eps_is_refused():
    curves = ARFIMA(0.3).sample_curves([1, 2, 4], 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"eps must be in \(0, 1\]"):
        check_assumptions(curves, eps=[2.0], n_boot=20)
