"""The package's shape: a lazy top level, the public names, and the testing tools where users find them."""

import subprocess
import sys

import pytest

import wzbounds


def modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}; import sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_wzbounds_loads_no_heavy_library():
    """`import wzbounds` costs the interpreter's start only (benchmarks/bench_import.py times it)."""
    loaded = modules_after("import wzbounds")
    assert not loaded & {"numpy", "scipy", "sympy", "mpmath", "torch", "transformers", "hypothesis", "matplotlib"}


def test_the_bounds_load_numpy_but_not_sympy_or_scipy():
    loaded = modules_after("import wzbounds as wz; wz.sliding_window_tv(1.0, 0.44).achievable_window(1e-3)")
    assert "numpy" in loaded and not loaded & {"sympy", "scipy", "torch"}


def test_testing_tools_need_hypothesis_only_for_the_strategies():
    loaded = modules_after("import wzbounds.testing as t; t.check_bound")
    assert "hypothesis" not in loaded and "wzbounds.testing.conformance" in loaded
    assert "hypothesis" in modules_after("from wzbounds.testing import strategies")


@pytest.mark.parametrize("name", wzbounds.__all__)
def test_every_public_name_resolves(name):
    assert getattr(wzbounds, name) is not None
    assert name in dir(wzbounds)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        wzbounds.nope  # noqa: B018
