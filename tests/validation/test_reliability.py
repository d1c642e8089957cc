"""Reliability: one clear line for every kind of bad command-line input, fuzzed parsers,
and no corrupt output when the report writer is killed."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validation.runs.store import ResultStore
from wzbounds.cli import main

ROOT = Path(__file__).resolve().parents[2]
NO_TORCH = any(importlib.util.find_spec(m) is None for m in ("torch", "transformers"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    (root / "empty").mkdir()
    (root / "latin1").mkdir()
    (root / "latin1" / "a.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (root / "broken.gguf").write_bytes(b"GGUF" + b"\x00" * 32)
    (root / "curves.csv").write_text("sample,window,tv\n0,1,0.5\n0,2,0\n0,4,0.2\n")
    (root / "zeros.csv").write_text("sample,window,tv\n0,1,0\n0,2,0\n0,4,0\n")
    (root / "two-windows.csv").write_text("sample,window,tv\n0,1,0.5\n0,2,0.4\n1,1,0.6\n1,2,0.3\n")
    (root / "nonutf8.csv").write_bytes(b"sample,window,tv\n0,1,\xff\n")
    (root / "a-file").write_text("x")
    other = root / "other-run"
    ResultStore(other, {"model": "another"}).close()
    for name, manifest in (("array-manifest", "[]"), ("no-sha-manifest", json.dumps(
            {"config": {"schema": 1}, "shards": {"k": {"file": "a.parquet", "rows": 1}}}))):
        (root / name).mkdir()
        (root / name / "manifest.json").write_text(manifest)
    return root


CLI_CASES = [
    ("negative alpha", ["bound", "window", "--alpha", "-0.4", "--eps", "1e-3"], "alpha must be finite and > 0"),
    ("NaN alpha", ["bound", "window", "--alpha", "nan", "--eps", "1e-3"], "alpha must be a number, not NaN"),
    ("eps above one", ["bound", "band", "--alpha", "0.4", "--c", "0.5", "--eps", "3"], "eps must be in (0, 1]"),
    ("band without a converse", ["bound", "band", "--alpha", "0.4", "--eps", "0.1"], "the band needs a converse"),
    ("eps grid not a grid", ["bound", "window", "--alpha", "0.4", "--eps", "a:b:c"], "is not a grid"),
    ("mu out of range", ["bound", "window", "--distortion", "kl", "--alpha", "0.4", "--V", "10", "--mu", "1.5",
                         "--eps", "0.1"], "mu must be in the open interval (0, 1)"),
    ("missing argument", ["bound", "window", "--eps", "0.1"], "the following arguments are required: --alpha"),
    ("not a number", ["bound", "window", "--alpha", "fast", "--eps", "0.1"], "invalid float value"),
    ("unknown command", ["compress"], "invalid choice: 'compress'"),
    ("unknown source", ["synth", "brownian", "--windows", "1,2"], "invalid choice: 'brownian'"),
    ("bad source parameter", ["synth", "arfima", "--d", "0.9", "--windows", "1,2"], "d must be in the open interval"),
    ("windows not whole", ["synth", "arfima", "--d", "0.3", "--windows", "1.5,2"], "whole numbers"),
    ("curves with zeros", ["check", "{zeros.csv}", "--n-boot", "20"], "finite and > 0 to fit in log space"),
    ("empty curve column", ["check", "{curves.csv}", "--n-boot", "20"], "finite and > 0 to fit in log space"),
    ("non-UTF-8 curves", ["check", "{nonutf8.csv}"], "is not UTF-8"),
    ("curves on two windows", ["check", "{two-windows.csv}"], "needs at least 3 windows"),
    ("missing curves file", ["check", "{missing.csv}"], "does not exist"),
    ("unknown policy", ["measure", "--policy", "lru", "--out", "{out}"], "unknown policy 'lru'"),
    ("unknown mode", ["measure", "--mode", "replay", "--out", "{out}"], "modes must be a non-empty selection"),
    ("budget beyond the prefix", ["measure", "--budgets", "1:1024", "--prefix-length", "256", "--out", "{out}"],
     "budget 1024 is larger than the prefix"),
    ("targets beyond the prefix", ["measure", "--targets", "600", "--prefix-length", "512", "--out", "{out}"],
     "must be fewer than the prefix length"),
    ("missing model file", ["measure", "--model", "{missing.gguf}", "--out", "{out}"], "does not exist"),
    ("corrupt model file", ["measure", "--model", "{broken.gguf}", "--out", "{out}"], "could not be loaded"),
    ("model folder without config", ["measure", "--model", "{empty}", "--out", "{out}"], "has no config.json"),
    ("hub id not on disk", ["measure", "--model", "org/not-here", "--out", "{out}"], "no model hub"),
    ("unknown device", ["measure", "--device", "tpu", "--out", "{out}"], "device must be"),
    ("corpus folder with no text", ["measure", "--domain", "{empty}", "--out", "{out}"], "has no text"),
    ("non-UTF-8 corpus", ["measure", "--domain", "{latin1}", "--out", "{out}"], "1 files were not UTF-8"),
    ("results from another configuration", ["measure", "--out", "{other-run}"], "another configuration"),
    ("unwritable output folder", ["measure", "--out", "{a-file}/out"], "is not writable"),
    ("bad mu grid", ["measure", "--mu", "0.1,2", "--out", "{out}"], "every mu must be in (0, 1)"),
    ("validate: both presets", ["validate", "--quick", "--full", "--out", "{out}"], "not allowed with argument"),
    ("negative seed", ["measure", "--seed", "-1", "--out", "{out}"], "seed must be a whole number >= 0; got -1"),
    ("no batch tokens", ["measure", "--max-batch-tokens", "0", "--out", "{out}"],
     "max-batch-tokens must be a whole number >= 1; got 0"),
    ("negative batch tokens", ["measure", "--max-batch-tokens", "-1", "--out", "{out}"],
     "max-batch-tokens must be a whole number >= 1; got -1"),
    ("empty output path", ["measure", "--out", ""], "--out must name a folder; got an empty path"),
    ("output path is a file", ["measure", "--out", "{a-file}"], "is a file, not a folder"),
    ("unknown dtype", ["measure", "--dtype", "int3", "--out", "{out}"], "dtype must be one of"),
    ("manifest is a JSON array", ["measure", "--out", "{array-manifest}"], "not a wzbounds manifest (a JSON list"),
    ("manifest entry without sha256", ["measure", "--out", "{no-sha-manifest}"],
     "shard 'k' lacks a file name, a sha256 or a row count"),
    ("corrupt model before the corpus", ["measure", "--model", "{broken.gguf}", "--domain", "natural",
                                         "--out", "{out}"], "not a GGUF file"),
    ("validate: no resamples", ["validate", "--n-boot", "0", "--out", "{out}"], "n-boot must be a whole number >= 40"),
    ("validate: negative resamples", ["validate", "--n-boot", "-5", "--out", "{out}"], "n-boot must be a whole number"),
    ("validate: missing domain", ["validate", "--domain", "{missing.csv}", "--out", "{out}"], "does not exist"),
    ("validate: unknown mode", ["validate", "--mode", "replay", "--out", "{out}"], "modes must be among"),
    ("validate: unknown policy", ["validate", "--policy", "lru", "--out", "{out}"], "unknown policy 'lru'"),
    ("validate: missing model", ["validate", "--model", "{missing.gguf}", "--out", "{out}"], "does not exist"),
    ("validate: empty output path", ["validate", "--out", ""], "--out must name a folder"),
]


@pytest.mark.parametrize(("case", "argv", "message"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_command_line_input_gives_one_clear_line(files, tmp_path, capsys, monkeypatch, case, argv, message):
    """One line, exit status 2, and nothing fetched, loaded or written first: the cache stays empty
    (a fresh machine's) and --out is not created."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WZBOUNDS_CACHE", str(cache))
    names = {p.name: str(p) for p in files.iterdir()}
    names.update({"out": str(tmp_path / "out"), "missing.csv": str(files / "missing.csv"),
                  "missing.gguf": str(files / "missing.gguf")})
    for key, value in names.items():
        argv = [a.replace("{" + key + "}", value) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    # without the validation extra, a model command's one clear line may be that torch is missing
    accepted = [message, *(["is not installed"] if argv[0] in ("measure", "validate") and NO_TORCH else [])]
    assert "\n" not in err and any(m in err for m in accepted) and "Traceback" not in err, err
    assert not cache.exists(), f"{case}: the cache was written before the input was refused"
    assert not (tmp_path / "out").exists(), f"{case}: --out was written before the input was refused"


WORDS = ["bound", "window", "distortion", "band", "blockmarkov", "exponents", "--alpha", "--C", "--c", "--eps",
         "--window", "--b", "--mu", "--V", "--R", "--beta", "--distortion", "kl", "tv", "--json", "--model",
         "smollm2-135m", "--layers", "--kv-heads", "--head-dim", "--dtype", "0.44", "1e-3", "1e-1:1e-4:5", "2",
         "-1", "nan", "inf", "0", "1:8", "a,b", "--reg", "--fd", ""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), max_size=10))
def test_fuzzed_bound_arguments_never_crash(capsys, argv):
    try:
        status = main(["bound", *argv] if argv[:1] != ["bound"] else argv)
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    assert status in (0, 2), (argv, out.err)
    assert "Traceback" not in out.err


@pytest.mark.skipif(NO_TORCH, reason="needs torch and transformers (the validation extra)")
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)])
def test_killing_the_report_writer_never_leaves_a_corrupt_report(tmp_path, seed):  # a minute each: one kill in CI
    corpus = tmp_path / "texts"
    corpus.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(12):  # room for the quick preset's 32 non-overlapping prefixes
        (corpus / f"t{i}.txt").write_text(" ".join(rng.choice(["a", "cache", "keeps", "window", "tokens"], 5000)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = [sys.executable, str(ROOT / "tests/validation/run_tiny_validate.py"), str(corpus)]
    reference = tmp_path / "reference"
    assert subprocess.run([*script, str(reference)], env=env, cwd=ROOT, timeout=600).returncode == 0
    killed = tmp_path / "killed"
    shutil.copytree(reference / "measure", killed / "measure")  # measured: the re-run goes straight to the report
    proc = subprocess.Popen([*script, str(killed)], env=env, cwd=ROOT)
    time.sleep(float(np.random.default_rng(100 + seed).uniform(1.0, 6.0)))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # every report file is whole or absent, never partial
    if (killed / "report.json").exists():
        json.loads((killed / "report.json").read_text())
    if (killed / "report.html").exists():
        assert (killed / "report.html").read_text().endswith("</html>\n")
    for png in killed.glob("*.png"):
        assert png.read_bytes() == (reference / png.name).read_bytes()
    assert not list(killed.glob(".*.tmp"))
    assert subprocess.run([*script, str(killed)], env=env, cwd=ROOT, timeout=600).returncode == 0
    a, b = json.loads((reference / "report.json").read_text()), json.loads((killed / "report.json").read_text())
    a.pop("seconds"), b.pop("seconds")
    assert a == b
