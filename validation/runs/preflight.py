"""Checks of a real-model command's arguments, made before anything is fetched, loaded or written.

`measure`, `validate` and `arena` call these first, so a bad model path, text
domain, policy, mode, grid, seed, bootstrap count, batch size or output folder
costs one line and nothing else: no corpus or model is fetched, no model is
loaded, and `--out` is left as it was. Each check names the argument and the
valid range.
"""

from __future__ import annotations

from pathlib import Path

MIN_BOOT = 40  # a 95% percentile interval needs at least one resample in each 2.5% tail
BUILTIN_DOMAINS = ("natural", "code")


def whole(name: str, value, low: int) -> int:
    """`value` if it is a whole number >= low, else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}; got {value!r}")
    return value


def check_n_boot(n_boot) -> int:
    """Bootstrap resamples: at least MIN_BOOT, so that a 95% interval has both tails."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < MIN_BOOT:
        raise ValueError(f"n-boot must be a whole number >= {MIN_BOOT} (a 95% interval needs a resample in each "
                         f"2.5% tail); got {n_boot!r}")
    return n_boot


def check_domain(domain: str) -> None:
    """'natural', 'code', or an existing text file or folder holding text (read, not fetched)."""
    from validation.data.corpora import folder_corpus

    if not isinstance(domain, str) or not domain.strip():
        raise ValueError("domain must be 'natural', 'code' or a text file / folder; got an empty value")
    if domain not in BUILTIN_DOMAINS:
        folder_corpus(Path(domain))  # a missing path or a folder with no text fails here


def check_device(device: str) -> None:
    """A --device value spelled as one: 'auto', 'cpu', 'cuda' or 'cuda:N' (whether this machine has
    CUDA is checked when the run starts, after a dry run's checks)."""
    import re

    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {device!r}")


def check_model(spec: str) -> None:
    """A --model value that can be loaded: 'default', an existing .gguf file or model folder, or
    a hub id (looked up in the local cache at load time). Nothing is read or fetched."""
    from validation.data.models import model_source

    model_source(spec)


def domain_label(domain: str) -> str:
    """The name a domain's results go under: 'natural', 'code', or the folder / file name of a path."""
    return domain if domain in BUILTIN_DOMAINS else Path(domain).name or str(domain)


def check_run(*, model: str, domains, n_boot, check_model_spec: bool = True) -> None:
    """What validate and arena share: the bootstrap count, the model spec (unless a loaded model is
    given), at least one domain, each existing, and no two under one name."""
    check_n_boot(n_boot)
    if check_model_spec:
        check_model(model)
    if not domains:
        raise ValueError("domains must name at least one text domain")
    for domain in domains:
        check_domain(domain)
    if len({domain_label(d) for d in domains}) != len(domains):
        raise ValueError(f"two domains share a name: {list(domains)}")
