"""The architecture zoo: tiny randomly initialised models of six families, built from
transformers configs (no download), each wrapped as a LoadedModel with the byte tokenizer.

    llama    RoPE, grouped-query attention, full attention
    qwen2    RoPE with q/k/v biases; layers from max_window_layers on slide (mixed types)
    mistral  every layer slides over a window smaller than the test prefixes
    gemma3   interleaved sliding and global layers, local and global RoPE, q/k norms
    gpt2     learned absolute positions, n_layer / n_head / n_embd config names
    phi3     fused qkv projection, partial rotary embedding
"""

from __future__ import annotations

import torch
from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from validation.data.geometry import kv_geometry
from validation.data.models import LoadedModel
from validation.testing.tiny import VOCAB, ByteTokenizer

WINDOW = 12  # the sliding window of the sliding families, smaller than the test prefixes
CONTEXT = 256
COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=CONTEXT, bos_token_id=None, eos_token_id=None, pad_token_id=None)

FAMILIES = {
    "llama": lambda: LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, **COMMON)),
    "qwen2": lambda: Qwen2ForCausalLM(Qwen2Config(num_hidden_layers=3, use_sliding_window=True,
                                                  sliding_window=WINDOW, max_window_layers=1, **COMMON)),
    "mistral": lambda: MistralForCausalLM(MistralConfig(num_hidden_layers=2, sliding_window=WINDOW, **COMMON)),
    "gemma3": lambda: Gemma3ForCausalLM(Gemma3TextConfig(num_hidden_layers=3, sliding_window=WINDOW, head_dim=8,
                                                         layer_types=["sliding_attention", "full_attention",
                                                                      "sliding_attention"],
                                                         query_pre_attn_scalar=8, **COMMON)),
    "gpt2": lambda: GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_layer=2, n_head=4, n_embd=32,
                                               n_positions=CONTEXT, bos_token_id=None, eos_token_id=None)),
    "phi3": lambda: Phi3ForCausalLM(Phi3Config(num_hidden_layers=2, partial_rotary_factor=0.5, **COMMON)),
}
RELATIVE = ("llama", "qwen2", "mistral", "gemma3", "phi3")  # positions enter only through differences


def zoo_model(family: str, seed: int = 0, attention: str = "sdpa") -> LoadedModel:
    torch.manual_seed(seed)
    model = FAMILIES[family]().eval()
    model.set_attn_implementation(attention)
    return LoadedModel(model, ByteTokenizer(), f"tiny-{family}", "memory", torch.device("cpu"), "float32",
                       kv_geometry(model.config, dtype="float32"), CONTEXT, None)
