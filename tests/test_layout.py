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


# validation's floors, top to bottom (README, "Architecture"): a module imports only its own room or below
FLOORS = (("cli", "validate", "arena", "__main__"), ("reports",), ("runs",), ("testing",), ("engine",),
          ("policies",), ("data",), ("errors",))


def validation_imports() -> dict[str, set[str]]:
    """Every validation module (dotted name) -> the validation modules it imports, at any depth of its code."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "validation"
    names = {".".join(("validation", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
             for p in root.rglob("*.py")}
    graph = {}
    for name, path in names.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("validation"):
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module
                          for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("validation")}
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def floor(module: str) -> int:
    room = module.split(".")[1] if module.count(".") else ""
    return next((i for i, rooms in enumerate(FLOORS) if room in rooms), -1)


def test_validation_imports_only_downward_and_has_no_circle():
    graph = validation_imports()
    upward = [(a, b) for a, targets in graph.items() for b in targets
              if a != "validation" and not b.startswith(a.rsplit(".", 1)[0] + ".") and floor(b) < floor(a)]
    assert not upward, upward
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph[node]:
            if nxt.startswith(node + "."):  # a package's __init__ re-exporting its own modules
                continue
            if state.get(nxt) == 1:
                raise AssertionError(f"import circle: {' -> '.join([*path, nxt])}")
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_every_validation_room_is_at_most_400_lines():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "validation"
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_wzbounds_never_imports_validation():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "wzbounds"
    found = [(p.name, getattr(n, "module", None) or n.names[0].name) for p in root.rglob("*.py")
             for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, (ast.Import, ast.ImportFrom))
             and any((getattr(n, "module", None) or a.name or "").startswith("validation") for a in n.names)]
    assert not found, found
