"""Fits, model selection and cluster-bootstrap intervals (THEORY section 5)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wzbounds import fit
from wzbounds.sources import ARFIMA, GeometricPACF, MarkovHMM, PowerLawCopy, PowerPACF, RenewalHMM, power_law_panel

W = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)


@given(st.floats(1e-3, 10), st.floats(0.05, 3))
def test_power_fit_recovers_an_exact_power_law(C, alpha):
    f = fit.fit_power(W, C * W**-alpha)
    assert f.alpha == pytest.approx(alpha, rel=1e-9, abs=0) and f.C == pytest.approx(C, rel=1e-9)
    assert f.log_rmse < 1e-9


@given(st.floats(1e-3, 10), st.floats(0.5, 0.99))
def test_geometric_fit_recovers_an_exact_geometric_law(C, rho):
    w = np.arange(1.0, 30.0)
    f = fit.fit_geometric(w, C * rho**w)
    assert f.rho == pytest.approx(rho, rel=1e-9, abs=0) and f.C == pytest.approx(C, rel=1e-9)


def test_weights_change_the_fit_towards_the_weighted_points():
    y = 0.5 * W**-0.4
    y[-1] *= 3.0
    plain = fit.fit_power(W, y)
    down = fit.fit_power(W, y, weights=np.r_[np.ones(10), 1e-6])
    assert down.alpha == pytest.approx(0.4, abs=1e-5) and plain.alpha < 0.39


def test_comparison_scores_extrapolation_beyond_the_split():
    cmp = fit.compare_laws(W, 0.3 * W**-0.5)
    assert cmp.split == 256 and cmp.verdict == "power"
    assert cmp.power_extrapolation < 1e-9 < cmp.geometric_extrapolation


POLYNOMIAL = [
    ("arfima d=0.3", lambda: ARFIMA(0.3), W),
    ("power PACF c=0.5 eta=0.8", lambda: PowerPACF(0.5, 0.8), W),
    ("copy V=5e4", lambda: PowerLawCopy(V=50000, context=4096), W[:10]),
    ("renewal HMM", lambda: RenewalHMM(max_age=512, context=1024), W[:8]),
]
GEOMETRIC = [
    ("geometric PACF c=0.6 rho=0.8", lambda: GeometricPACF(0.6, 0.8), np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32.0])),
    ("markov HMM", lambda: MarkovHMM(context=256), np.array([1, 2, 3, 4, 6, 8, 12, 16.0])),
]


@pytest.mark.parametrize(("name", "make", "windows"), POLYNOMIAL, ids=[p[0] for p in POLYNOMIAL])
def test_selection_picks_the_power_law_on_polynomial_sources(name, make, windows):
    """Mean of 100 exactly computed per-sample TV curves (sampling noise only)."""
    curves = make().sample_curves(windows, 100, np.random.default_rng(0))
    cmp = fit.compare_laws(windows, curves.mean("tv"))
    assert cmp.verdict == "power" and cmp.ratio > 1.5


@pytest.mark.parametrize(("name", "make", "windows"), GEOMETRIC, ids=[g[0] for g in GEOMETRIC])
def test_selection_picks_the_geometric_law_on_the_controls(name, make, windows):
    curves = make().sample_curves(windows, 100, np.random.default_rng(0))
    cmp = fit.compare_laws(windows, curves.mean("tv"))
    assert cmp.verdict == "geometric" and cmp.ratio > 1.5


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["arfima", "power"]), st.floats(0.1, 0.45), st.sampled_from([3e-2, 1e-2, 3e-3]))
def test_window_from_the_fitted_law_reaches_eps_on_fresh_samples(kind, p, eps):
    """Fit on 200 samples; take C as the max of delta(w) w^alpha over the fitted windows;
    the exact delta at the window the bound gives is at most eps."""
    src = ARFIMA(p) if kind == "arfima" else PowerPACF(2 * p, 0.75 + p)
    w = W[:9]
    curves = src.sample_curves(w, 200, np.random.default_rng(1))
    f = fit.fit_power(w, curves.mean("tv"))
    C = float(np.max(curves.mean("tv") * w**f.alpha))
    window = float(fit.PowerFit(C, f.alpha, 0, 1, 1).law.window(eps))
    assert float(src.exact_curves([window]).delta[0]) <= eps


def test_bootstrap_interval_contains_the_estimate_and_has_a_standard_error():
    curves = power_law_panel(0.3, 0.45, W, 50, np.random.default_rng(0))
    iv = fit.exponent_interval(curves, n_boot=500)
    assert iv.low < iv.estimate < iv.high and iv.standard_error > 0 and iv.distribution.size == 500


def test_two_clusters_give_the_whole_range_of_the_resamples():
    """With 2 clusters the expanded tails, sqrt(2) t_1^-1(0.025) = -17.97 standard deviations, reach
    probability 0 and 1: the interval of the mean of {0, 1} is every resampled mean, [0, 1]."""
    values = np.array([0.0, 1.0])
    iv = fit.cluster_bootstrap(2, lambda rows: values[rows].mean(axis=1), n_boot=200)
    assert (iv.estimate, iv.low, iv.high) == (0.5, 0.0, 1.0)


def test_ratio_interval_of_a_doubled_exponent_covers_two():
    rng = np.random.default_rng(0)
    tv = power_law_panel(0.3, 0.4, W, 60, rng).tv
    from wzbounds.curves import Curves

    curves = Curves(W, tv, kl=2 * tv**2, mu=0.1)
    iv = fit.exponent_ratio_interval(curves, n_boot=500)
    assert iv.covers(2.0) and abs(iv.estimate - 2) < 0.1


def coverage(reps: int, n_docs: int = 40, n_boot: int = 1000) -> float:
    hits = 0
    for rep in range(reps):
        curves = power_law_panel(0.3, 0.45, W, n_docs, np.random.default_rng(10_000 + rep))
        hits += fit.exponent_interval(curves, n_boot=n_boot, seed=rep).covers(0.45)
    return hits / reps


def test_bootstrap_95_interval_covers_the_true_exponent_in_200_repetitions():
    """Calibration: nominal 95%, 40 documents per repetition, 1000 resamples."""
    assert 0.90 <= coverage(200) <= 0.99


@pytest.mark.slow
def test_bootstrap_95_interval_calibration_over_1000_repetitions():
    assert 0.92 <= coverage(1000) <= 0.975


def test_fits_refuse_zeros_and_too_few_windows():
    with pytest.raises(ValueError, match="finite and > 0 to fit in log space; got 0.0 at window 4"):
        fit.fit_power([1, 2, 4], [0.1, 0.05, 0.0])
    with pytest.raises(ValueError, match="at least 2 windows"):
        fit.fit_geometric([1], [0.1])


def test_plot_draws_data_fits_and_band(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    curves = power_law_panel(0.3, 0.45, W, 30, np.random.default_rng(0))
    ax = fit.plot_fits(W, curves.mean("tv"), interval=fit.exponent_interval(curves, n_boot=200))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lbl.startswith("power") for lbl in labels) and any("interval" in lbl for lbl in labels)
    ax.figure.savefig(tmp_path / "fit.png")
    assert (tmp_path / "fit.png").stat().st_size > 1000


def test_plot_fits_draws_the_fit_its_interval_is_about():
    """The solid line has the reported exponent on the reported fit range, and the band its ends
    (the figure drew a whole-range fit, w^-0.650, beside a text reporting 0.315 on the fit range)."""
    import matplotlib

    matplotlib.use("Agg")
    iv = fit.Interval(0.315, 0.30, 0.33, 0.008, 0.95, np.array([0.30, 0.315, 0.33]))
    ax = fit.plot_fits(W, 0.5 * W**-0.65, interval=iv, fit_range=(8.0, 64.0))
    (line,) = [l for l in ax.get_lines() if l.get_label().startswith("fit on [8, 64]")]
    x, y = line.get_data()
    assert x.min() == 8.0 and x.max() == 64.0
    assert np.log(y[-1] / y[0]) / np.log(x[-1] / x[0]) == pytest.approx(-0.315, rel=1e-12)
    assert "w^-0.315" in line.get_label()
