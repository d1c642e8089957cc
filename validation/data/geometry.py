"""The KV-cache geometry of a transformers model, read from its configuration.

Reads the fields transformers' configs use (`num_hidden_layers`,
`num_key_value_heads`, `head_dim`, `hidden_size`, `num_attention_heads`,
`dtype` / `torch_dtype`, or their GPT-2-style names `n_layer`, `n_head`,
`n_embd`) and which layers slide, and by how much (`layer_types`,
`sliding_window`, ...: `layer_windows`), from a config object, a mapping, a
config.json or a model folder, without importing torch, and returns the
bounds core's `KVGeometry`, so memory figures in bytes come from the real
model, sliding-window layers capped at their window.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wzbounds.memory import BYTES_PER_ELEMENT, KVGeometry


def _as_mapping(config: Any) -> Mapping[str, Any]:
    if isinstance(config, Mapping):
        return config
    if isinstance(config, (str, Path)):
        path = Path(config)
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise ValueError(f"config: no config.json at {path}")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"config: {path} is not valid JSON ({exc})") from None
    if hasattr(config, "to_dict"):
        return config.to_dict()
    raise ValueError(f"config must be a mapping, a path or a transformers config; got {type(config).__name__}")


ALIASES: dict[str, tuple[str, ...]] = {
    "layers": ("num_hidden_layers", "n_layer", "n_layers", "num_layers"),
    "heads": ("num_attention_heads", "n_head", "n_heads", "num_heads"),
    "kv_heads": ("num_key_value_heads", "n_kv_heads", "num_kv_heads", "n_head_kv"),
    "hidden": ("hidden_size", "n_embd", "d_model", "dim"),
}


def _first(cfg: Mapping[str, Any], field: str) -> Any:
    """The first of the field's aliases the config sets (GPT-2 style configs say n_layer, n_head, n_embd)."""
    for name in ALIASES[field]:
        if cfg.get(name) is not None:
            return cfg[name]
    return None


def kv_geometry(config: Any, dtype: str | None = None) -> KVGeometry:
    """KVGeometry from a model config; `dtype` overrides the config's own dtype.

    Each size is read under any of its names (`ALIASES`: Llama-style `num_hidden_layers`,
    GPT-2-style `n_layer`, ...). n_kv_heads defaults to the attention heads (no
    grouped-query attention), or 1 for multi-query configs; head_dim defaults to
    hidden_size // heads.
    """
    cfg = dict(_as_mapping(config))
    cfg.update(cfg.get("text_config") or {})
    layers, heads = _first(cfg, "layers"), _first(cfg, "heads")
    missing = [ALIASES[k][0] for k, v in (("layers", layers), ("heads", heads)) if v is None]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)} (or an alias such as n_layer, n_head): "
                         "not a decoder-only transformer config")
    heads = int(heads)
    kv_heads = _first(cfg, "kv_heads")
    kv_heads = int(kv_heads) if kv_heads is not None else (1 if cfg.get("multi_query") else heads)
    head_dim = cfg.get("head_dim")
    if head_dim is None:
        hidden = _first(cfg, "hidden")
        if hidden is None:
            raise ValueError("config lacks head_dim and hidden_size (or n_embd): cannot size the KV cache")
        head_dim = int(hidden) // heads
    chosen = dtype or str(cfg.get("dtype") or cfg.get("torch_dtype") or "float32").removeprefix("torch.")
    if chosen not in BYTES_PER_ELEMENT:
        raise ValueError(f"dtype must be one of {sorted(BYTES_PER_ELEMENT)}; got {chosen!r}")
    name = str(cfg.get("_name_or_path") or cfg.get("model_type") or "")
    return KVGeometry(int(layers), kv_heads, int(head_dim), BYTES_PER_ELEMENT[chosen], name,
                      layer_windows(cfg, int(layers)))


def layer_windows(cfg: Mapping[str, Any], n_layers: int) -> tuple[float, ...] | None:
    """Each layer's sliding window in positions (inf for a global layer), None when none slides.

    In the order transformers' configs say it: `layer_types` ("sliding_attention" /
    "full_attention", Gemma 3 and newer Qwen2, Mistral configs); else Gemma 3's older
    `sliding_window_pattern` (every pattern-th layer global); else Qwen2's
    `use_sliding_window` with `max_window_layers` (layers from it on slide); else every layer
    slides when `sliding_window` is set (Mistral, Phi-3) and `use_sliding_window` is not False.
    """
    window = cfg.get("sliding_window")
    if window is None or int(window) < 1:
        return None
    w = float(window)
    types = cfg.get("layer_types")
    if types:
        if len(types) != n_layers:
            raise ValueError(f"config: layer_types lists {len(types)} layers, num_hidden_layers says {n_layers}")
        slides = [t == "sliding_attention" for t in types]
    elif cfg.get("sliding_window_pattern"):
        pattern = int(cfg["sliding_window_pattern"])
        slides = [(i + 1) % pattern != 0 for i in range(n_layers)]
    elif cfg.get("use_sliding_window") is False:
        return None
    elif cfg.get("max_window_layers") is not None and cfg.get("use_sliding_window"):
        slides = [i >= int(cfg["max_window_layers"]) for i in range(n_layers)]
    else:
        slides = [True] * n_layers
    return tuple(w if s else float("inf") for s in slides) if any(slides) else None
