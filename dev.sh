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
# policies, BOS), the summaries, the presses and the embedded model's tokenizer (the same ids under
# both pins); the rest does not depend on the transformers pin.
ENGINE_TESTS=(tests/validation/test_zoo.py tests/validation/test_measure.py tests/validation/test_policies.py
              tests/validation/test_bos.py tests/validation/test_summaries.py tests/validation/test_presses.py
              tests/validation/test_tokenizer.py)
PYTHON="${WZ_PYTHON:-python3}"

ensure_env() {  # ensure_env VENV EXTRAS
    local venv="$1" extras="$2"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "dev.sh: wzbounds needs Python >= 3.10; $("$PYTHON" --version 2>&1) found" >&2; exit 1; }
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    local want stamp="$venv/.wzbounds-installed"
    want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1) [$extras]"
    if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
        echo "dev.sh: installing wzbounds[$extras] into $venv" >&2
        "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
        "$venv/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}" >&2
        echo "$want" >> "$stamp"
    fi
}

task="${1:-}"
[ $# -gt 0 ] && shift
case "$task" in
    main)
        ensure_env "$VENV" validation
        exec "$VENV/bin/wzbounds" validate --quick --out "${WZ_OUT:-wzbounds-out}" "$@"
        ;;
    test)
        ensure_env "$VENV" test,validation
        [ $# -gt 0 ] && exec "$VENV/bin/python" -m pytest "$@"
        "$VENV/bin/python" -m pytest
        echo "dev.sh: the engine's tests in the kvpress environment ($KVPRESS_VENV)" >&2
        ensure_env "$KVPRESS_VENV" test,kvpress
        exec "$KVPRESS_VENV/bin/python" -m pytest "${ENGINE_TESTS[@]}"
        ;;
    test-kvpress)
        ensure_env "$KVPRESS_VENV" test,kvpress
        if [ $# -gt 0 ]; then exec "$KVPRESS_VENV/bin/python" -m pytest "$@"; fi
        exec "$KVPRESS_VENV/bin/python" -m pytest "${ENGINE_TESTS[@]}"
        ;;
    test-slow)
        ensure_env "$VENV" test,validation
        exec "$VENV/bin/python" -m pytest -m slow "$@"
        ;;
    arena)
        ensure_env "$KVPRESS_VENV" kvpress
        exec "$KVPRESS_VENV/bin/wzbounds" arena --out "${WZ_OUT:-wzbounds-arena}" "$@"
        ;;
    bench)
        ensure_env "$VENV" test,validation
        for bench in benchmarks/bench_*.py; do
            echo "== $bench"
            "$VENV/bin/python" "$bench" "$@"
        done
        ;;
    *)
        echo "usage: bash dev.sh {main|test|test-kvpress|test-slow|arena|bench} [args...]" >&2
        exit 2
        ;;
esac
