"""The public API of `validation`, and the runnable example of docs/validation.md."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import validation
from validation.data.corpora import folder_corpus
from validation.policies import POLICIES
from validation.testing.tiny import tiny_model

ROOT = Path(__file__).resolve().parents[2]


def test_the_public_names_resolve_without_loading_torch_first():
    code = ("import sys, validation; assert 'torch' not in sys.modules and 'transformers' not in sys.modules; "
            "[getattr(validation, n) for n in validation.__all__]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert {"load_model", "load_corpus", "Engine", "Protocol", "run", "curves", "CachePolicy",
            "register_policy"} <= set(validation.__all__)


def test_the_documented_example_runs(tmp_path, monkeypatch, capsys):
    """The docs' user-defined policy example, on the tiny model and a small corpus instead of SmolLM2."""
    text = (ROOT / "docs" / "validation.md").read_text()
    section = text[text.index("## The Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    corpus_dir = tmp_path / "texts"
    corpus_dir.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        (corpus_dir / f"d{i}.txt").write_text(" ".join(rng.choice(["cache", "window", "law", "token"], 500)) + "\n")
    monkeypatch.setattr(validation, "load_model", lambda spec: tiny_model())
    monkeypatch.setattr(validation, "load_corpus", lambda name: folder_corpus(corpus_dir))
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(code, "docs/validation.md", "exec"), {"__name__": "docs_example"})
    finally:
        POLICIES.pop("strided", None)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("sliding {4: ") and out[1].startswith("strided:stride=3 {4: ")
    assert (tmp_path / "results-strided" / "manifest.json").is_file()
    assert len(eval(out[2])) == 4  # (t, budget, tv) for 2 targets x 2 budgets
