"""Every real-model example of `measure --help`, `validate --help`, `arena --help` and the README
passes every check of its arguments (`--dry-run`): the paths it names are made as placeholders
(a tiny GGUF, a model folder, a text folder); nothing is fetched, loaded or written."""

import importlib.util

import pytest

from tests.help_examples import help_examples, readme_commands
from tests.validation.tiny import tiny_llama_gguf
from wzbounds.cli import main

REAL = ("measure", "validate", "arena", "export")
EXAMPLES = list({" ".join(a): a for a in help_examples() + readme_commands() if a[0] in REAL}.values())
HAS_KVPRESS = importlib.util.find_spec("kvpress") is not None


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A small measurement of the tiny model (sliding, sink, random; recompute and evict)."""
    from tests.validation.run_tiny import PROTOCOL
    from validation.data.corpora import folder_corpus
    from validation.runs.protocol import run
    from validation.testing.tiny import tiny_model

    texts = tmp_path_factory.mktemp("help-example-texts")
    for i in range(12):
        (texts / f"t{i}.txt").write_text(" ".join(["a", "cache", "keeps", "window", "tokens"][j % 5] for j in range(i,
                                                                                                                i + 400)))
    out = tmp_path_factory.mktemp("measured")
    run(PROTOCOL, out, lm=tiny_model(), corpus=folder_corpus(texts), progress=False)
    return out


@pytest.fixture
def workdir(tmp_path, monkeypatch, measured):
    (tmp_path / "my-texts").mkdir()
    (tmp_path / "my-texts" / "a.txt").write_text("a cache keeps a window of tokens\n" * 50)
    tiny_llama_gguf(tmp_path / "my-model.gguf")
    tiny_llama_gguf(tmp_path / "gemma-3-270m.gguf")
    (tmp_path / "Qwen2.5-0.5B").mkdir()
    (tmp_path / "Qwen2.5-0.5B" / "config.json").write_text("{}")
    import shutil

    shutil.copytree(measured, tmp_path / "my-results")  # a measure folder, and a validate output holding it
    shutil.copytree(measured, tmp_path / "wzbounds-out" / "measure" / "natural" / "main")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WZBOUNDS_CACHE", str(tmp_path / "cache"))
    return tmp_path


EXPORTS = [a for a in EXAMPLES if a[0] == "export"]
EXAMPLES = [a for a in EXAMPLES if a[0] != "export"]


@pytest.mark.parametrize("argv", EXPORTS, ids=[" ".join(a)[:80] for a in EXPORTS])
def test_every_export_example_writes_curves_check_reads(argv, workdir, capsys):
    from wzbounds.curves import read_csv

    assert main(argv) == 0, capsys.readouterr().err
    out = workdir / argv[argv.index("--out") + 1]
    if "--all" in argv:  # a folder: every curve, with the raw table and the protocol beside it
        files = sorted(out.rglob("*.csv"))
        assert files and all((f.parent / "protocol.json").is_file() for f in files)
        assert all((f.parent / "measurements.parquet").is_file() for f in files)
        out = next(f for f in files if f.name == "sliding_recompute_preserved.csv")
    curves = read_csv(out)
    assert curves.n_samples == 10 and curves.windows.tolist() == [1, 2, 4, 8, 16] and curves.samples[0].count("@") == 1


def test_export_refuses_what_was_not_measured_in_one_line(workdir, capsys):
    assert main(["export", "my-results", "--policy", "heavy", "--mode", "evict", "--out", "x.csv"]) == 2
    err = capsys.readouterr().err
    assert "no measurements of heavy in evict mode" in err and "sliding (recompute, preserved)" in err
    assert not (workdir / "x.csv").exists()


@pytest.mark.parametrize("argv", EXAMPLES, ids=[" ".join(a)[:80] for a in EXAMPLES])
def test_every_real_model_example_passes_its_checks(argv, workdir, capsys):
    if (argv[0] == "arena" or any("kvpress:" in a for a in argv)) and not HAS_KVPRESS:
        pytest.skip("needs kvpress (the kvpress environment runs it)")
    status = main([*argv, "--dry-run"])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert out.out.startswith("dry run: ") and "nothing fetched, loaded or written" in out.out
    out_dir = argv[argv.index("--out") + 1]
    assert not (workdir / out_dir).exists() and not (workdir / "cache").exists()
