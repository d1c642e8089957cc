"""The validation tests need torch and transformers (the `validation` extra); without them this
folder is skipped as a whole, so the theory suite runs on a machine with numpy and scipy alone."""

import importlib.util

MISSING = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
collect_ignore_glob = ["test_*.py"] if MISSING else []


def pytest_report_header(config):
    if MISSING:
        return f"tests/validation skipped: {', '.join(MISSING)} not installed (pip install -e '.[validation]')"
    return None
