#!/usr/bin/env bash
# The project's entry points. Each one first makes sure the virtual environment
# in .venv holds what it needs (created on first use, refreshed when
# pyproject.toml changes), so a fresh machine needs nothing else.
#
#   bash dev.sh main        the main job: `wzbounds validate --quick` on the embedded model and corpora
#   bash dev.sh test        the test suite (fast tests; what CI runs)
#   bash dev.sh test-slow   the slow-marked tests only
#   bash dev.sh bench       the benchmarks under benchmarks/
#
# Extra arguments go to the underlying command (pytest, or the benchmark runner).
set -euo pipefail
cd "$(dirname "$0")"

VENV="${WZ_VENV:-.venv}"
PYTHON="${WZ_PYTHON:-python3}"

ensure_env() {
    local extras="$1"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "dev.sh: wzbounds needs Python >= 3.10; $("$PYTHON" --version 2>&1) found" >&2; exit 1; }
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    local want stamp="$VENV/.wzbounds-installed"
    want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1) [$extras]"
    if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
        echo "dev.sh: installing wzbounds[$extras] into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
        "$VENV/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}" >&2
        echo "$want" >> "$stamp"
    fi
}

task="${1:-}"
[ $# -gt 0 ] && shift
case "$task" in
    main)
        ensure_env validation
        exec "$VENV/bin/wzbounds" validate --quick --out "${WZ_OUT:-wzbounds-out}" "$@"
        ;;
    test)
        ensure_env test,validation
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    test-slow)
        ensure_env test,validation
        exec "$VENV/bin/python" -m pytest -m slow "$@"
        ;;
    bench)
        ensure_env test,validation
        for bench in benchmarks/bench_*.py; do
            echo "== $bench"
            "$VENV/bin/python" "$bench" "$@"
        done
        ;;
    *)
        echo "usage: bash dev.sh {main|test|test-slow|bench} [args...]" >&2
        exit 2
        ;;
esac
