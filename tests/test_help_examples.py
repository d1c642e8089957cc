"""Every example of every `--help`, and of the README, runs: the theory commands for real (exit 0),
the README's Python block as written. The real-model examples are run with --dry-run in
tests/validation/test_help_examples.py."""


import numpy as np
import pytest

from tests.help_examples import help_examples, readme_block, readme_commands
from wzbounds.cli import main

THEORY = ("bound", "synth", "check", "rd", "compare")


EXAMPLES = [a for a in help_examples() + readme_commands() if a[0] in THEORY]
EXAMPLES = list({" ".join(a): a for a in EXAMPLES}.values())


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder holding the curve files the examples name: a copy source's curves with KL_mu for
    check, and a reference with two contenders on the same samples for compare."""
    from wzbounds.curves import Curves, write_csv
    from wzbounds.sources import PowerLawCopy

    curves = PowerLawCopy(V=5000, lam=0.5, alpha=0.5, context=512).sample_curves(
        2.0 ** np.arange(8), 40, np.random.default_rng(0), mu=0.1)
    for name in ("curves.csv", "my_curves.csv"):
        write_csv(curves, tmp_path / name)
    w, rng = 2.0 ** np.arange(11), np.random.default_rng(1)
    for name, (C, alpha) in {"sliding.csv": (0.6, 0.5), "merge.csv": (0.9, 0.6), "sink.csv": (0.4, 0.5)}.items():
        tv = np.clip(C * w**-alpha * rng.lognormal(-0.05, 0.3, (60, w.size)), 0, 1)
        write_csv(Curves(w, tv, tv**2, mu=0.1, samples=tuple(f"doc{i}" for i in range(60))), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv", EXAMPLES, ids=[" ".join(a)[:80] for a in EXAMPLES])
def test_every_theory_example_runs(argv, workdir, capsys):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 0, err
    for word in argv:
        if word.endswith(".png"):
            assert (workdir / word).stat().st_size > 0


def test_the_readme_python_example_runs_as_written_and_prints_what_its_comments_say(capsys):
    """The comments quote the band [1503.6 281749.8] [35112 6579333], the peak-memory price ~1.371
    and that the exponents meet in KL_mu: each is in what the block prints."""
    exec(compile(readme_block("## In Python", "python"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    for quoted in ("1503.6", "281749.8", "35112.", "6579333.", "1.3709", "KL_mu: exponents meet at 0.88"):
        assert quoted in out, (quoted, out)
