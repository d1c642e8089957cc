"""A tiny randomly initialised Llama model and a byte tokenizer: no download, deterministic."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from validation.models import LoadedModel
from validation.geometry import kv_geometry

VOCAB = 259  # 256 bytes + 3 spare ids


class ByteTokenizer:
    """UTF-8 bytes as token ids; no special tokens."""

    bos_token_id = None

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict:
        return {"input_ids": list(text.encode("utf-8"))}


def tiny_config(layers: int = 2) -> LlamaConfig:
    return LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rope_theta=10000.0)


def tiny_model(seed: int = 0, layers: int = 2) -> LoadedModel:
    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_config(layers)).eval()
    return LoadedModel(model, ByteTokenizer(), "tiny-llama", "memory", torch.device("cpu"), "float32",
                       kv_geometry(model.config, dtype="float32"), 1024, None)
