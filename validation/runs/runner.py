"""One runner for the commands that measure several domains and parts: `validate` and `arena`.

Each (domain, part) is one protocol measured into its own results folder under
OUT/measure/: OUT/measure/<domain>/<part>/ when a command has parts
(`part_folders`, validate), OUT/measure/<domain>/ when it has one (the arena).
Every folder is checked before the first is measured, so a run refused for its
last folder has measured nothing; a part that fails costs only its own rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from validation.data.bos import Bos
from validation.runs.preflight import domain_label
from validation.runs.protocol import Protocol, protocol_config, run
from validation.runs.store import check_out


@dataclass(frozen=True)
class Measured:
    """What a run measured: the domains (label -> as given), each (label, part)'s table, every failure
    (keyed "<folder under OUT/measure>|<task>"), and the BOS every context starts with, resolved against the model."""

    domains: Mapping[str, str]
    tables: Mapping[tuple[str, str], dict[str, np.ndarray]]
    failures: Mapping[str, str]
    bos: Bos


def measure_parts(out: Path, parts: Mapping[str, Protocol], domains, *, lm, corpora=None, progress: bool = True,
                  part_folders: bool = True, every_runnable_mode: bool = False) -> Measured:
    """Run (or resume) every part of `parts` on every domain into OUT/measure/ (see the module doc);
    `corpora`: {domain: Corpus} to use instead of loading them. The parts share one BOS rule."""
    labels = {domain_label(d): d for d in domains}
    rules = {p.bos.rule for p in parts.values()}
    if len(rules) != 1:
        raise ValueError(f"the parts of one run share one BOS rule; got {sorted(rules)}")
    bos = lm.resolve_bos(rules.pop())  # "always" with no BOS token: one line, before anything is written

    def folder(label: str, part: str) -> str:
        return f"{label}/{part}" if part_folders else label

    for label, domain in labels.items():  # every folder, before the first is measured
        for part, protocol in parts.items():
            check_out(out / "measure" / folder(label, part), protocol_config(replace(protocol, domain=domain)))
    tables, failures = {}, {}
    for label, domain in labels.items():
        for part, protocol in parts.items():
            store = run(replace(protocol, domain=domain), out / "measure" / folder(label, part), lm=lm,
                        corpus=None if corpora is None else corpora[domain], progress=progress,
                        every_runnable_mode=every_runnable_mode)
            tables[(label, part)] = store.table()
            failures.update({f"{folder(label, part)}|{key}": line for key, line in store.failures.items()})
    return Measured(labels, tables, failures, bos)
