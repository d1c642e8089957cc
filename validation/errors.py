"""Every exception and warning validation raises of its own; anything else it raises is a ValueError
(bad input, named in one line) or an OSError from the file system.

    CacheError          the cache cannot be written, or holds a file that fails its digest
    FetchError          an artifact could not be fetched or verified; the message says how to provide it
    IncompleteRun       some tasks of a run failed; the others finished and are saved
    MeasurementWarning  a measurement that runs but may not mean what it seems

The first three are user-facing: the `wzbounds` command prints them as one line, exit status 2.
"""

from __future__ import annotations

from pathlib import Path

from wzbounds.output import CliError


class CacheError(CliError):
    """The cache cannot be written or holds a file that fails its digest (one line, exit status 2)."""


class FetchError(CliError, RuntimeError):
    """An artifact could not be fetched or verified; the message says how to provide it.
    A user-facing error: the `wzbounds` command prints it as one line (exit status 2)."""


class IncompleteRun(ValueError):
    """Some tasks failed; the others finished and are saved (the message lists the failures)."""

    def __init__(self, failures: dict[str, str], out: Path) -> None:
        self.failures = failures
        lines = "; ".join(failures.values())
        super().__init__(f"{len(failures)} task(s) failed, the rest are saved in {out} "
                         f"(failures.json lists them): {lines}")


class MeasurementWarning(UserWarning):
    """A measurement that runs but may not mean what it seems (budgets past a sliding window)."""
