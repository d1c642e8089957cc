"""The KV-cache geometry of a transformers model, read from its configuration.

Reads the fields transformers' configs use (`num_hidden_layers`,
`num_key_value_heads`, `head_dim`, `hidden_size`, `num_attention_heads`,
`dtype` / `torch_dtype`) from a config object, a mapping, a config.json or
a model folder, without importing torch, and returns the bounds core's
`KVGeometry`, so memory figures in bytes come from the real model.
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


def kv_geometry(config: Any, dtype: str | None = None) -> KVGeometry:
    """KVGeometry from a model config; `dtype` overrides the config's own dtype.

    n_kv_heads defaults to num_attention_heads (no grouped-query attention);
    head_dim defaults to hidden_size // num_attention_heads.
    """
    cfg = dict(_as_mapping(config))
    cfg.update(cfg.get("text_config") or {})
    missing = [k for k in ("num_hidden_layers", "num_attention_heads") if k not in cfg]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)}: not a decoder-only transformer config")
    heads = int(cfg["num_attention_heads"])
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = cfg.get("head_dim")
    if head_dim is None:
        if "hidden_size" not in cfg:
            raise ValueError("config lacks head_dim and hidden_size: cannot size the KV cache")
        head_dim = int(cfg["hidden_size"]) // heads
    chosen = dtype or str(cfg.get("dtype") or cfg.get("torch_dtype") or "float32").removeprefix("torch.")
    if chosen not in BYTES_PER_ELEMENT:
        raise ValueError(f"dtype must be one of {sorted(BYTES_PER_ELEMENT)}; got {chosen!r}")
    name = str(cfg.get("_name_or_path") or cfg.get("model_type") or "")
    return KVGeometry(int(cfg["num_hidden_layers"]), kv_heads, int(head_dim), BYTES_PER_ELEMENT[chosen], name)
