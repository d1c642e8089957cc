"""Shared output: plain-JSON conversion, tables for the command line, one-line errors."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import numpy as np


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (`PROG: error: ...`), exit status 2;
    `--help` still shows the full usage. Sub-parsers inherit the class."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def jsonable(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values; non-finite numbers as null."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):d}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not np.isfinite(v):
            return "-"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):d}"
        return f"{v:.6g}"
    return str(value)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    heads = list(rows[0])
    cells = [[_format(r[h]) for h in heads] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    line = lambda items: "  ".join(s.rjust(wd) for s, wd in zip(items, widths))  # noqa: E731
    return "\n".join([line(heads), line(["-" * wd for wd in widths]), *(line(c) for c in cells)])


def emit(
    args: argparse.Namespace, title: str, params: dict[str, Any], rows: list[dict[str, Any]], notes: Sequence[str] = ()
) -> None:
    """Print rows as JSON (--json) or as a titled table with notes."""
    if args.json:
        print(json.dumps(jsonable({"command": title, "parameters": params, "rows": rows, "notes": list(notes)}), indent=2))
        return
    shown = ", ".join(f"{k}={_format(v)}" for k, v in params.items() if v is not None)
    print(f"{title}  ({shown})")
    print(_table(rows))
    for note in notes:
        print(f"note: {note}")


def rows_of(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Table rows from named columns of equal length (length-1 columns repeat; None columns drop)."""
    present = {k: np.atleast_1d(np.asarray(v, dtype=object if isinstance(v, list) else None)) for k, v in columns.items() if v is not None}
    n = max(len(v) for v in present.values())
    return [{k: v[i] if len(v) > 1 else v[0] for k, v in present.items()} for i in range(n)]
