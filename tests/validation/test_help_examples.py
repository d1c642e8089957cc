"""Every real-model example of `measure --help`, `validate --help`, `arena --help` and the README
passes every check of its arguments (`--dry-run`): the paths it names are made as placeholders
(a tiny GGUF, a model folder, a text folder); nothing is fetched, loaded or written."""

import importlib.util

import pytest

from tests.help_examples import help_examples
from tests.test_help_examples import readme_commands
from tests.validation.tiny import tiny_llama_gguf
from wzbounds.cli import main

REAL = ("measure", "validate", "arena")
EXAMPLES = list({" ".join(a): a for a in help_examples() + readme_commands() if a[0] in REAL}.values())
HAS_KVPRESS = importlib.util.find_spec("kvpress") is not None


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "my-texts").mkdir()
    (tmp_path / "my-texts" / "a.txt").write_text("a cache keeps a window of tokens\n" * 50)
    tiny_llama_gguf(tmp_path / "my-model.gguf")
    tiny_llama_gguf(tmp_path / "gemma-3-270m.gguf")
    (tmp_path / "Qwen2.5-0.5B").mkdir()
    (tmp_path / "Qwen2.5-0.5B" / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WZBOUNDS_CACHE", str(tmp_path / "cache"))
    return tmp_path


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
