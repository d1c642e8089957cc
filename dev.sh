#!/usr/bin/env bash
# The project's entry points. Each one first makes sure the virtual environment
# in .venv holds what it needs (created on first use, refreshed when
# pyproject.toml changes), so a fresh machine needs nothing else.
#
#   bash dev.sh main          the main job: `wzbounds validate --quick` on the embedded model and corpora
#   bash dev.sh test          the test suite (fast tests; what CI runs), in both environments: the default
#                             one, then the engine's tests again in the kvpress one (its transformers pin)
#   bash dev.sh test-kvpress  pytest in the kvpress environment only (default: the engine's tests)
#   bash dev.sh test-slow     the slow-marked tests only
#   bash dev.sh bench         the benchmarks under benchmarks/
#   bash dev.sh arena         `wzbounds arena`: kvpress presses and propagating summaries (kvpress environment)
#   bash dev.sh lock          re-resolve the tested sets in constraints/ from the newest versions pyproject.toml
#                             allows (fresh environments, nothing installed kept); then run `bash dev.sh test`
#                             and commit constraints/ only if it passes
#
# Installs are reproducible: pip itself is pinned (PIP_VERSION) and every package is installed under the
# tested set of versions in constraints/ (default.txt for .venv, kvpress.txt for .venv-kvpress, build.txt
# for the build backend), so a
# new release upstream changes nothing until `bash dev.sh lock` is run and the tests pass on purpose.
#
# Two environments: .venv (wzbounds[validation], transformers 5.23) and .venv-kvpress
# (wzbounds[kvpress]: kvpress 0.5.5 needs transformers < 5.3, so 5.2.0).
# Extra arguments go to the underlying command (pytest, the benchmark runner, wzbounds arena);
# `test` with arguments runs them in the default environment only.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${WZ_VENV:-.venv}"
KVPRESS_VENV="${WZ_KVPRESS_VENV:-.venv-kvpress}"
# What runs again in the kvpress environment: the engine (every mode on six architectures, the
# policies, BOS), the summaries, the presses, the embedded model's tokenizer (the same ids under
# both pins), user GGUFs, offline loading and the store's writers; the rest does not depend on the
# transformers pin.
ENGINE_TESTS=(tests/validation/test_zoo.py tests/validation/test_measure.py tests/validation/test_policies.py
              tests/validation/test_bos.py tests/validation/test_summaries.py tests/validation/test_presses.py
              tests/validation/test_tokenizer.py tests/validation/test_user_gguf.py tests/validation/test_offline.py
              tests/validation/test_writers.py tests/validation/test_help_examples.py
              tests/validation/test_policy_contract.py tests/validation/test_spaced_targets.py
              tests/validation/test_carried.py)
PYTHON="${WZ_PYTHON:-python3}"
PIP_VERSION=26.3

need_python() {
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "dev.sh: wzbounds needs Python >= 3.10; $("$PYTHON" --version 2>&1) found" >&2; exit 1; }
}

ensure_env() {  # ensure_env VENV EXTRAS CONSTRAINTS
    local venv="$1" extras="$2" constraints="$3"
    need_python
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    local want stamp="$venv/.wzbounds-installed"
    want="$(cat pyproject.toml "$constraints" "$BUILD_SET" | sha256sum | cut -d' ' -f1) [$extras]"
    if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
        echo "dev.sh: installing wzbounds[$extras] into $venv (tested set: $constraints)" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pip==$PIP_VERSION" >&2
        "$venv/bin/python" -m pip install --quiet -c "$constraints" --build-constraint "$BUILD_SET" \
            -e ".${extras:+[$extras]}" >&2
        echo "$want" >> "$stamp"
    fi
}

lock_env() {  # lock_env EXTRAS CONSTRAINTS: the newest allowed versions, in a throw-away environment
    local extras="$1" constraints="$2" tmp
    tmp="$(mktemp -d)"
    "$PYTHON" -m venv "$tmp/venv"
    "$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pip==$PIP_VERSION" >&2
    "$tmp/venv/bin/python" -m pip install --quiet --build-constraint "$BUILD_SET" -e ".[$extras]" >&2
    {
        echo "# The tested set of versions for wzbounds[$extras] (dev.sh installs under it)."
        echo "# Regenerate with \`bash dev.sh lock\` (newest versions pyproject.toml allows), then run"
        echo "# \`bash dev.sh test\`, and commit only if it passes."
        "$tmp/venv/bin/python" -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]*)\+cpu$/\1/'
    } > "$constraints"
    rm -rf "$tmp"
    echo "dev.sh: wrote $constraints" >&2
}

BUILD_SET=constraints/build.txt
DEFAULT_SET=constraints/default.txt
KVPRESS_SET=constraints/kvpress.txt

task="${1:-}"
[ $# -gt 0 ] && shift
case "$task" in
    main)
        ensure_env "$VENV" test,validation "$DEFAULT_SET"
        exec "$VENV/bin/wzbounds" validate --quick --out "${WZ_OUT:-wzbounds-out}" "$@"
        ;;
    test)
        ensure_env "$VENV" test,validation "$DEFAULT_SET"
        [ $# -gt 0 ] && exec "$VENV/bin/python" -m pytest "$@"
        "$VENV/bin/python" -m pytest
        echo "dev.sh: the engine's tests in the kvpress environment ($KVPRESS_VENV)" >&2
        ensure_env "$KVPRESS_VENV" test,kvpress "$KVPRESS_SET"
        exec "$KVPRESS_VENV/bin/python" -m pytest "${ENGINE_TESTS[@]}"
        ;;
    test-kvpress)
        ensure_env "$KVPRESS_VENV" test,kvpress "$KVPRESS_SET"
        if [ $# -gt 0 ]; then exec "$KVPRESS_VENV/bin/python" -m pytest "$@"; fi
        exec "$KVPRESS_VENV/bin/python" -m pytest "${ENGINE_TESTS[@]}"
        ;;
    test-slow)
        ensure_env "$VENV" test,validation "$DEFAULT_SET"
        exec "$VENV/bin/python" -m pytest -m slow "$@"
        ;;
    arena)
        ensure_env "$KVPRESS_VENV" test,kvpress "$KVPRESS_SET"
        exec "$KVPRESS_VENV/bin/wzbounds" arena --out "${WZ_OUT:-wzbounds-arena}" "$@"
        ;;
    lock)
        need_python
        lock_env test,validation "$DEFAULT_SET"
        lock_env test,kvpress "$KVPRESS_SET"
        ;;
    bench)
        ensure_env "$VENV" test,validation "$DEFAULT_SET"
        for bench in benchmarks/bench_*.py; do
            echo "== $bench"
            "$VENV/bin/python" "$bench" "$@"
        done
        ;;
    *)
        echo "usage: bash dev.sh {main|test|test-kvpress|test-slow|arena|bench|lock} [args...]" >&2
        exit 2
        ;;
esac
