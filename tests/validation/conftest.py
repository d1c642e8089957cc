"""The validation tests need torch and transformers (the `validation` extra); without them this
folder is skipped as a whole, so the theory suite runs on a machine with numpy and scipy alone."""

import importlib.util

import numpy as np
import pytest

MISSING = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
collect_ignore_glob = ["test_*.py"] if MISSING else []


def pytest_report_header(config):
    if MISSING:
        return f"tests/validation skipped: {', '.join(MISSING)} not installed (pip install -e '.[validation]')"
    return None


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """Twelve texts of 400 random words and one too short to give a prefix (shared by the tests that
    run the protocol on the tiny model)."""
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "window", "cache", "token", "model", "law", "bound"]
    for i in range(12):
        text = " ".join(rng.choice(words, size=400)) + "\n"
        (folder / f"doc{i:02d}.txt").write_text(text)
    (folder / "short.txt").write_text("too short\n")
    return folder


WORDS = ["the", "cache", "keeps", "a", "window", "of", "recent", "tokens", "and", "forgets", "rest"]


def _write_texts(folder, seed, n=12, words=5000):
    """n texts of `words` random words in `folder`, as a Corpus (the validate and arena runs' documents)."""
    from validation.data.corpora import folder_corpus

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        (folder / f"t{i}.txt").write_text(" ".join(rng.choice(WORDS, words)) + "\n")
    return folder_corpus(folder)


@pytest.fixture(scope="session")
def write_texts():
    """write_texts(folder, seed, n=12, words=5000) -> Corpus: random texts written to a folder."""
    return _write_texts
