"""The `wzbounds bound` command: JSON output, tables, help and errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wzbounds.cli import main
from wzbounds.grids import parse_grid


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_window_json_has_window_band_and_memory(capsys):
    out = run_json(capsys, "bound", "window", "--alpha", "0.44", "--C", "1", "--c", "0.5", "--eps", "1e-3")
    (row,) = out["rows"]
    assert row["window"] == int(np.ceil(1e3 ** (1 / 0.44)))
    assert row["band_upper"] == row["window"]
    assert row["band_lower"] == pytest.approx((0.5 / 2e-3) ** (1 / 0.44))
    assert row["kv_gib"] == pytest.approx(row["window"] * 2 * 30 * 3 * 64 * 2 / 2**30)
    assert out["parameters"]["kv_bytes_per_token"] == 23040
    assert any("from PTS" in note for note in out["notes"]) and any("BR in TV" in note for note in out["notes"])


def test_window_without_c_prints_no_converse(capsys):
    """Finding 4: PTS alone gives no lower end; c_B is never silently set to C."""
    out = run_json(capsys, "bound", "window", "--alpha", "0.44", "--C", "1", "--eps", "1e-3")
    (row,) = out["rows"]
    assert "band_lower" not in row and row["band_upper"] == int(np.ceil(1e3 ** (1 / 0.44)))
    assert any("lower end: none" in note for note in out["notes"])
    out = run_json(capsys, "bound", "distortion", "--alpha", "0.5", "--window", "4")
    assert out["rows"][0].get("unavoidable") is None


def test_exponents_never_print_a_kl_mu_converse_from_the_unsmoothed_gap(capsys):
    """Finding 1: `--alpha 0.5 --beta 0.5` printed "meet: Theta(eps^(-1/0.5)) in KL_mu"."""
    assert main(["bound", "exponents", "--alpha", "0.5", "--beta", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "Theta" not in text and "meet" not in text
    out = run_json(capsys, "bound", "exponents", "--alpha", "0.5", "--beta", "0.5")
    rows = {r["distortion"]: r for r in out["rows"]}
    assert rows["kl_mu"]["converse"] is None and rows["kl"]["converse"] == 0.5
    out = run_json(capsys, "bound", "exponents", "--alpha", "0.5", "--reg", "--beta-mu", "1.0")
    assert {r["distortion"]: r for r in out["rows"]}["kl_mu"]["matched"] is True


def test_window_grid_is_log_spaced_and_monotone(capsys):
    out = run_json(capsys, "bound", "window", "--alpha", "0.44", "--c", "0.5", "--eps", "1e-1:1e-4:13")
    eps = [r["eps"] for r in out["rows"]]
    windows = [r["window"] for r in out["rows"]]
    assert len(eps) == 13 and eps[0] == 0.1 and eps[-1] == 1e-4
    np.testing.assert_allclose(np.diff(np.log10(eps)), -0.25)
    assert windows == sorted(windows)


def test_kl_window_uses_the_sandwich_constant(capsys):
    out = run_json(
        capsys, "bound", "window", "--distortion", "kl", "--alpha", "0.5", "--C", "0.5",
        "--V", "100", "--mu", "0.1", "--R", "1", "--eps", "1e-2", "--model", "qwen2.5-0.5b",
    )
    K = 100 * 0.81 / 0.1 * 0.25
    assert out["rows"][0]["window"] == int(np.ceil(K / 1e-2))
    assert out["rows"][0]["raw_bits"] == pytest.approx(out["rows"][0]["window"] * np.log2(100))


def test_distortion_band_blockmarkov_and_exponents(capsys):
    out = run_json(capsys, "bound", "distortion", "--alpha", "0.5", "--c", "1", "--window", "4,16")
    assert [r["guaranteed"] for r in out["rows"]] == pytest.approx([0.5, 0.25])
    assert [r["unavoidable"] for r in out["rows"]] == pytest.approx([0.25, 0.125])
    out = run_json(capsys, "bound", "band", "--alpha", "0.5", "--c", "1", "--eps", "0.01", "--layers", "2", "--kv-heads", "1", "--head-dim", "8", "--dtype", "float32")
    row = out["rows"][0]
    assert row["ratio"] == pytest.approx(4.0) and row["upper_kv_gib"] == pytest.approx(10000 * 128 / 2**30)
    out = run_json(capsys, "bound", "blockmarkov", "--alpha", "0.44", "--b", "100000")
    assert out["rows"][0]["peak_ratio"] == pytest.approx(1.371, abs=1e-3)
    out = run_json(capsys, "bound", "blockmarkov", "--alpha", "0.44", "--eps", "0.01")
    assert out["rows"][0]["average"] <= 0.01
    out = run_json(capsys, "bound", "exponents", "--alpha", "0.44", "--fd")
    assert {r["distortion"]: r for r in out["rows"]}["kl_mu"]["gap_factor"] == pytest.approx(2.0)


def test_table_output_is_readable(capsys):
    assert main(["bound", "window", "--alpha", "0.44", "--eps", "1e-2,1e-3"]) == 0
    text = capsys.readouterr().out
    assert "window" in text and "kv_gib" in text and "35112" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bound", "window", "--alpha", "-1", "--eps", "0.1"], "alpha must be finite and > 0"),
        (["bound", "window", "--alpha", "0.4", "--eps", "2"], "eps must be in (0, 1]"),
        (["bound", "window", "--alpha", "0.4", "--eps", "1e-1:x:3"], "is not a grid"),
        (["bound", "window", "--alpha", "0.4", "--eps", "0:1e-3:3"], "START > 0"),
        (["bound", "window", "--alpha", "0.4", "--eps", "0.1", "--distortion", "kl"], "needs --V"),
        (["bound", "window", "--alpha", "0.4", "--eps", "0.1", "--layers", "2"], "go together"),
        (["bound", "window", "--alpha", "0.4", "--eps", "0.1", "--mu", "0.1"], "--distortion kl only"),
        (["bound", "band", "--distortion", "kl", "--V", "9", "--mu", ".1", "--alpha", ".4", "--eps", ".1"], "needs a converse"),
        (["bound", "blockmarkov", "--alpha", "0.4"], "exactly one of --b"),
        (["bound", "distortion", "--alpha", "0.4", "--window", "0.5"], "whole numbers"),
        (["rd", "wyner-ziv", "dsbs", "--p", "0.7", "--D", "0.1"], "p must be in (0, 0.5)"),
        (["rd", "wyner-ziv", "dsbs", "--p", "0.2", "--D", "-0.1"], "D must be finite and >= 0; got -0.1"),
        (["rd", "wyner-ziv", "joint", "--pxy", "0.5,0.5;1", "--D", "0.1"], "is not a matrix"),
        (["rd", "wyner-ziv", "gaussian", "--rho", "1.5", "--D", "0.1"], "--rho in (-1, 1)"),
        (["rd", "wyner-ziv", "gaussian", "--rho", "0.5", "--D", "0.1", "--discretise", "0"], "step must be"),
        (["rd", "sequential", "arfima", "--eps", "1e-3"], "needs --d"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wzbounds: error:") and message in err


def test_help_has_examples():
    out = subprocess.run(
        [sys.executable, "-m", "wzbounds", "bound", "window", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "examples:" in out and "wzbounds bound window --alpha 0.44 --C 1 --eps 1e-3 --json" in out


@given(st.text(max_size=30))
def test_grid_parser_never_crashes(spec):
    try:
        values = parse_grid("eps", spec)
    except ValueError as exc:
        assert "--eps" in str(exc)
    else:
        assert values.size >= 1 and np.all(np.isfinite(values))


def test_synth_arfima_json_has_exact_curves_fits_and_verdicts(capsys):
    windows = "1,2,4,8,16,32,64,128,256,512,1024"
    assert main(["synth", "arfima", "--d", "0.3", "--windows", windows, "--json", "--n-boot", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["windows"] == [float(w) for w in windows.split(",")]
    from wzbounds.sources import ARFIMA

    np.testing.assert_allclose(out["exact"]["Delta"], ARFIMA(0.3).bayes_gap(np.array(out["windows"])), rtol=1e-12)
    assert len(out["exact"]["delta"]) == 11 and out["truth"]["beta_kl"] == 1.0
    tv = out["fits"]["tv"]
    assert tv["low"] < tv["exponent"] < tv["high"] and abs(tv["exponent"] - 0.5) < 0.05
    assert {v["claim"]: v["outcome"] for v in out["assumptions"]["verdicts"]}["PTS"] == "holds"


def test_synth_plot_and_text(tmp_path, capsys):
    png = tmp_path / "copy.png"
    argv = ["synth", "copy", "--V", "5000", "--context", "512", "--windows", "1:256:5", "--samples", "20",
            "--n-boot", "100", "--plot", str(png)]
    assert main(argv) == 0
    assert png.stat().st_size > 10_000
    assert "alpha_KL / alpha_TV" in capsys.readouterr().out


def test_synth_errors(capsys):
    assert main(["synth", "arfima", "--windows", "1,2"]) == 2
    assert "needs --d" in capsys.readouterr().err
    assert main(["synth", "arfima", "--d", "0.7", "--windows", "1,2"]) == 2
    assert "d must be in the open interval (0, 0.5)" in capsys.readouterr().err


def test_check_runs_on_a_csv(tmp_path, capsys):
    from wzbounds.curves import write_csv
    from wzbounds.sources import power_law_panel

    path = tmp_path / "curves.csv"
    write_csv(power_law_panel(0.3, 0.4, [1, 2, 4, 8, 16, 32, 64], 30, np.random.default_rng(0)), path)
    assert main(["check", str(path), "--json", "--n-boot", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["assumptions"]["alpha_tv"]["estimate"] - 0.4) < 0.1
    assert main(["check", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_rd_wyner_ziv_dsbs_point_and_grid(capsys):
    from wzbounds.ratedistortion import binary_entropy, dsbs_wyner_ziv

    (row,) = run_json(capsys, "rd", "wyner-ziv", "dsbs", "--p", "0.25", "--D", "0.1")["rows"]
    assert row["R_WZ"] == pytest.approx(float(dsbs_wyner_ziv(0.25, 0.1)), abs=1e-6)
    assert row["R_XgY"] == pytest.approx(float(binary_entropy(0.25) - binary_entropy(0.1)), abs=1e-6)
    assert row["R_WZ"] > row["R_XgY"] + 1e-3
    rows = run_json(capsys, "rd", "wyner-ziv", "dsbs", "--p", "0.25", "--D", "0:0.25:26")["rows"]
    assert [r["D"] for r in rows] == pytest.approx(np.linspace(0, 0.25, 26).tolist())
    assert rows[-1]["R_WZ"] == 0 and rows[0]["R_WZ"] == pytest.approx(float(binary_entropy(0.25)), abs=1e-6)


def test_rd_wyner_ziv_gaussian_discretised(capsys):
    (row,) = run_json(capsys, "rd", "wyner-ziv", "gaussian", "--rho", "0.8", "--D", "0.12", "--discretise", "0.25",
                      "--side-step", "0.5")["rows"]
    assert row["reproduced"] and row["bound_lower"] <= row["closed_form"] <= row["bound_upper"]
    assert row["bound_lower"] <= row["R_XgY_discrete"] <= row["R_WZ_discrete"] + 1e-2


def test_rd_sequential_gaussian_rows(capsys):
    rows = run_json(capsys, "rd", "sequential", "arfima", "--d", "0.3", "--eps", "1e-3:1e-5:3")["rows"]
    assert [r["window"] for r in rows] == sorted(r["window"] for r in rows)
    assert all(b["optimal_rate"] - a["optimal_rate"] == pytest.approx(0.5 * np.log(10), rel=1e-3, abs=0)
               for a, b in zip(rows, rows[1:]))


def test_one_program_under_every_name():
    """`wzbounds`, `python -m wzbounds` and `python -m validation` print the same help, with the
    real-model commands registered as plugins (wzbounds itself never imports validation)."""
    script = Path(sys.executable).with_name("wzbounds")
    outputs = [subprocess.run(cmd, capture_output=True, text=True, check=True).stdout for cmd in (
        [str(script), "--help"], [sys.executable, "-m", "wzbounds", "--help"],
        [sys.executable, "-m", "validation", "--help"])]
    assert outputs[0] == outputs[1] == outputs[2]
    assert "measure" in outputs[0] and "validate" in outputs[0]
    out = subprocess.run([sys.executable, "-m", "wzbounds", "measure", "--resume", "--out", "x"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "unrecognized arguments: --resume" in out.stderr


def test_version_prints_the_installed_distribution_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"wzbounds {version('wzbounds')}"


def test_distortion_without_a_converse_prints_no_unavoidable_column_or_note(capsys):
    assert main(["bound", "distortion", "--alpha", "0.44", "--C", "1", "--window", "64"]) == 0
    out = capsys.readouterr().out
    assert "unavoidable" not in out and "guaranteed" in out


def test_windows_below_w0_get_no_guarantee_and_the_converse_excludes_nothing(capsys):
    assert main(["bound", "window", "--alpha", "0.65", "--C", "1", "--c", "0.5", "--w0", "100", "--eps", "0.1",
                 "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["band_lower"] == 1.0 and row["window"] == 100
    assert main(["bound", "distortion", "--alpha", "0.65", "--C", "1", "--c", "0.5", "--w0", "100", "--window", "4",
                 "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["guaranteed"] is None and row["unavoidable"] == pytest.approx(0.25 * 100**-0.65, rel=1e-12)


def test_blockmarkov_prints_distortions_below_float64_in_log10():
    """alpha = 1000, b = 64: the average is about 1e-1808, 0.0 in float64; its log10 comes from the
    worst step and the normalised average, checked against mpmath's direct sum."""
    import mpmath

    mpmath.mp.dps = 30
    direct = mpmath.log10(sum(mpmath.mpf(64 + r) ** -1000 for r in range(64)) / 64)
    out = subprocess.run([sys.executable, "-m", "wzbounds", "bound", "blockmarkov", "--alpha", "1000", "--b", "64",
                          "--json"], capture_output=True, text=True, check=True).stdout
    row = json.loads(out)["rows"][0]
    assert row["average"] == 0.0 and row["log10_average"] == pytest.approx(float(direct), rel=1e-12)
    assert row["log10_worst_step"] == pytest.approx(-1000 * np.log10(64), rel=1e-14)


def test_check_reports_one_fit_in_text_json_and_figure(tmp_path, capsys):
    """The exponent in `fits` is the text's alpha_TV, fitted on the report's fit range."""
    rng = np.random.default_rng(0)
    rows = ["sample,window,tv"] + [f"{s},{w},{min(1.0, 0.9 * w ** -0.4 * rng.lognormal(0, 0.3))}"
                                   for s in range(60) for w in (1, 2, 4, 8, 16, 32, 64, 128)]
    path = tmp_path / "curves.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["check", str(path), "--json", "--n-boot", "200", "--plot", str(tmp_path / "c.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    alpha = out["assumptions"]["alpha_tv"]
    assert out["fits"]["tv"]["exponent"] == alpha["estimate"]
    assert tuple(out["fits"]["tv"]["fit_range"]) == tuple(out["assumptions"]["fit_range"])


def test_memory_columns_cap_sliding_layers(capsys):
    """Gemma-3-270m (known geometry) and the same layout given by hand print the same GiB."""
    argv = ["bound", "window", "--alpha", "0.5", "--C", "1", "--eps", "0.0059143", "--dtype", "float32", "--json"]
    assert main([*argv, "--model", "gemma-3-270m"]) == 0
    known = json.loads(capsys.readouterr().out)["rows"][0]["kv_gib"]
    assert main([*argv, "--layers", "18", "--kv-heads", "1", "--head-dim", "256", "--sliding-window", "512",
                 "--sliding-layers", "15"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["kv_gib"] == known == pytest.approx(
        (3 * 28589 + 15 * 512) * 2 * 256 * 4 / 2**30, rel=1e-15)


def test_check_on_logarithmic_decay_prints_no_pts_and_no_window(tmp_path, capsys):
    """The issue's case: delta(w) = 0.3 / ln(w + 2), windows 1..1024, 100 samples. It printed "PTS:
    holds" and an achievable window of 2.3e6 tokens at eps = 0.01; the true window is about 1e13."""
    rng = np.random.default_rng(0)
    w = 2.0 ** np.arange(11)
    tv = np.clip(0.3 / np.log(w + 2) * rng.lognormal(-0.125, 0.5, (100, w.size)), 0, 1)
    path = tmp_path / "log.csv"
    path.write_text("sample,window,tv\n" + "".join(f"{s},{int(x)},{float(tv[s, j])!r}\n" for s in range(100)
                                                   for j, x in enumerate(w)))
    assert main(["check", str(path), "--n-boot", "500"]) == 0
    out = capsys.readouterr().out
    assert "PTS: holds" not in out and "GTS: holds" not in out
    assert "eps = 0.01: window in [-, -] tokens" in out


def test_check_reports_alpha_on_every_range_of_a_decade_with_intervals(tmp_path, capsys):
    w = 2.0 ** np.arange(0, 8)
    path = tmp_path / "c.csv"
    rng = np.random.default_rng(0)
    rows = "".join(f"{s},{int(x)},{float(min(1.0, 0.5 * x ** -0.4 * rng.lognormal(0, 0.2)))!r}\n" for s in range(20) for x in w)
    path.write_text("sample,window,tv\n" + rows)
    assert main(["check", str(path), "--json", "--n-boot", "100"]) == 0
    ranges = json.loads(capsys.readouterr().out)["alpha_by_range"]
    assert len(ranges["local_slopes"]) == 7 and {(r["from"], r["to"]) for r in ranges["fit_ranges"]} >= {(1, 128)}
    assert all(r["low"] <= r["estimate"] <= r["high"] for r in ranges["fit_ranges"])
