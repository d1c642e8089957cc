"""Attention masks by position: which cache entries each query may read, at every layer type.

Every forward pass of the engine states its mask explicitly. A mask starts from
`allowed[b, j, i]`, true when query j of row b may attend to key i (the
policy's kept entries and causality), and each layer type adds its own rule,
decided on the position ids fed to the model, never on sequence indices:

    full_attention      allowed[b, j, i]
    sliding_attention   allowed[b, j, i] and pos_q[b, j] - pos_k[b, i] < W

the rule transformers applies to a contiguous sequence (`sliding_window_overlay`:
kv_idx > q_idx - W). With positions preserved, a kept entry far behind the
query (an attention sink at position 0, seen from position 1000) is invisible
to a sliding layer of W = 512 exactly as it is in the full context; masking by
sequence index would put it inside the window, a distance the model never saw.

A model whose layers mix types (Gemma 3, Qwen2 with max_window_layers) takes a
mapping {layer type: mask}; a model with one type takes the tensor. Masks are
additive (0 where attended, the dtype's minimum elsewhere), which every
attention kernel (eager, SDPA) reads the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FULL = "full_attention"
SLIDING = "sliding_attention"


@dataclass(frozen=True)
class AttentionLayout:
    """The attention type of every layer, and the sliding window W (in positions) if any layer slides."""

    layer_types: tuple[str, ...]
    sliding_window: int | None

    @classmethod
    def of(cls, config: Any) -> AttentionLayout:
        """Read from a transformers config: `layer_types` when it lists them (Gemma 3, Qwen2, ...),
        else every layer slides when `sliding_window` is set (Mistral, Phi-3), else full attention."""
        from validation.data.geometry import kv_geometry

        cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
        window = getattr(cfg, "sliding_window", None)
        types = getattr(cfg, "layer_types", None)
        if types is None:
            n = kv_geometry(cfg).n_layers
            slides = window is not None and getattr(cfg, "use_sliding_window", True) is not False
            types = (SLIDING if slides else FULL,) * n
        types = tuple(str(t) for t in types)
        unknown = sorted(set(types) - {FULL, SLIDING})
        if unknown:
            raise ValueError(f"layer types {', '.join(unknown)} are not supported: the engine masks "
                             f"{FULL} and {SLIDING} layers only")
        if SLIDING in types and (window is None or int(window) < 1):
            raise ValueError(f"the config has {SLIDING} layers but no sliding_window >= 1 (got {window!r})")
        return cls(types, int(window) if SLIDING in types else None)

    def masks(self, allowed, query_pos, key_pos, dtype):
        """The model's `attention_mask` argument: additive masks of shape (B, 1, q, n) in `dtype`.

        allowed: bool (B, q, n); query_pos: (B, q) and key_pos: (B, n) position ids (or (q,), (n,),
        shared by every row). A tensor when every layer has one type, else {layer type: tensor}."""
        import torch

        minimum = torch.finfo(dtype).min
        out = {}
        for kind in dict.fromkeys(self.layer_types):
            rule = allowed
            if kind == SLIDING:
                rule = allowed & (query_pos[..., :, None] - key_pos[..., None, :] < self.sliding_window)
            additive = torch.zeros(rule.shape, dtype=dtype, device=rule.device).masked_fill_(~rule, minimum)
            out[kind] = additive.unsqueeze(-3) if additive.dim() == 3 else additive[None, None]
        return out if len(out) > 1 else next(iter(out.values()))
