"""Every example printed by any `wzbounds ... --help`, collected from the parsers themselves, and the
README's command lines (shared by the theory and the real-model example tests)."""

import argparse
import re
import shlex
from pathlib import Path

from wzbounds.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield from _parsers(sub)


def help_examples() -> list[list[str]]:
    """The argv of each example line of every --help (continuation lines joined), without the
    leading `wzbounds`; `torchrun ... -m validation CMD ...` gives CMD's argv. Each once."""
    found: dict[str, list[str]] = {}
    for parser in _parsers(build_parser()):
        lines = (parser.epilog or "").replace("\\\n", " ").splitlines()
        for line in lines:
            words = shlex.split(line.split("  #")[0], comments=False)
            if words[:1] == ["wzbounds"]:
                argv = words[1:]
            elif words[:1] == ["torchrun"] and "validation" in words:
                argv = words[words.index("validation") + 1:]
            else:
                continue
            found.setdefault(" ".join(argv), argv)
    return list(found.values())


def readme_block(heading: str, language: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def readme_commands() -> list[list[str]]:
    argvs = []
    for line in readme_block("## On the command line", "bash").splitlines():
        words = shlex.split(line.split("  #")[0])
        if words[:1] == ["wzbounds"]:
            argvs.append(words[1:])
    return argvs
