"""matplotlib for the reports: a headless backend, and figures written whole (atomically)."""

from __future__ import annotations

import io
from pathlib import Path

from validation.runs.store import atomic_write

LINE_COLOURS = ("tab:blue", "tab:orange", "tab:red", "tab:green", "tab:olive", "tab:cyan", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray")  # policies in the order they were measured


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> None:
    """Render to memory, then write atomically (a killed run never leaves half a PNG); closes the figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    atomic_write(path, buffer.getvalue())
    pyplot().close(fig)
