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
