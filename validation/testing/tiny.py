"""A tiny randomly initialised Llama and a byte tokenizer: no download, deterministic, a few ms a forward.

`check_policy` runs policies through the engine on it; the tests measure on it. Needs torch and
transformers (the validation extra), imported on first use.
"""

from __future__ import annotations

VOCAB = 259  # 256 bytes + 3 spare ids
BOS = 256


class ByteTokenizer:
    """UTF-8 bytes as token ids; with `bos`, id 256 is its BOS token, put first like Gemma's tokenizer does."""

    def __init__(self, bos: bool = False) -> None:
        self.bos_token_id = BOS if bos else None

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict:
        ids = list(text.encode("utf-8"))
        return {"input_ids": ([BOS] if add_special_tokens and self.bos_token_id is not None else []) + ids}


def tiny_config(layers: int = 2):
    """A 2-layer (by default) Llama config: hidden size 32, 4 heads over 2 KV heads, 1024 positions."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rope_theta=10000.0)


def tiny_model(seed: int = 0, layers: int = 2, bos: bool = False):
    """The tiny Llama as a LoadedModel on the CPU, weights drawn under torch seed `seed`; with `bos`,
    a tokenizer that puts BOS (id 256) first, recorded as the model's BOS."""
    import torch
    from transformers import LlamaForCausalLM

    from validation.data.geometry import kv_geometry
    from validation.data.models import LoadedModel

    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_config(layers)).eval()
    return LoadedModel(model, ByteTokenizer(bos), "tiny-llama", "memory", torch.device("cpu"), "float32",
                       kv_geometry(model.config, dtype="float32"), 1024, BOS if bos else None)
