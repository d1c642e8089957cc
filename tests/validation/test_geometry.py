"""validation.data.geometry: KV geometry from transformers-style configurations."""

import json

import pytest

from validation.data.geometry import kv_geometry

LLAMA = {
    "model_type": "llama",
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "hidden_size": 576,
    "torch_dtype": "bfloat16",
}


def test_geometry_from_a_mapping_derives_head_dim():
    g = kv_geometry(LLAMA)
    assert (g.n_layers, g.n_kv_heads, g.head_dim, g.bytes_per_element) == (30, 3, 64, 2.0)
    assert g.bytes_per_token == 23040


def test_geometry_from_a_model_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({**LLAMA, "head_dim": 80, "dtype": "float32"}))
    g = kv_geometry(tmp_path)
    assert g.head_dim == 80 and g.bytes_per_element == 4.0
    assert kv_geometry(tmp_path, dtype="float16").bytes_per_element == 2.0


GPT2 = {"model_type": "gpt2", "n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024}


def test_gpt2_style_names_are_read():
    """GPT-2-style configs say n_layer, n_head, n_embd: 12 layers x 12 heads x 64, full attention."""
    g = kv_geometry(GPT2)
    assert (g.n_layers, g.n_kv_heads, g.head_dim) == (12, 12, 64)
    assert g.bytes_per_token == 2 * 12 * 12 * 64 * 4
    assert kv_geometry({**GPT2, "multi_query": True}).n_kv_heads == 1  # GPT-BigCode style


def test_gpt2_config_object_from_transformers():
    transformers = pytest.importorskip("transformers")
    g = kv_geometry(transformers.GPT2Config(n_layer=3, n_head=4, n_embd=32))
    assert (g.n_layers, g.n_kv_heads, g.head_dim) == (3, 4, 8)


def test_heads_default_to_full_attention():
    cfg = {k: v for k, v in LLAMA.items() if k != "num_key_value_heads"}
    assert kv_geometry(cfg).n_kv_heads == 9


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"num_attention_heads": 4}, "lacks num_hidden_layers"),
        ({"n_embd": 64}, "lacks num_hidden_layers, num_attention_heads"),
        ({"num_hidden_layers": 2, "num_attention_heads": 4}, "lacks head_dim and hidden_size"),
        ({**LLAMA, "torch_dtype": "complex64"}, "dtype must be one of"),
        (42, "config must be a mapping"),
    ],
)
def test_bad_configs_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        kv_geometry(config)


def test_missing_or_corrupt_config_file(tmp_path):
    with pytest.raises(ValueError, match="no config.json"):
        kv_geometry(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        kv_geometry(tmp_path)


GEMMA3 = {"model_type": "gemma3_text", "num_hidden_layers": 18, "num_attention_heads": 4, "num_key_value_heads": 1,
          "head_dim": 256, "hidden_size": 640, "sliding_window": 512,
          "layer_types": ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(18)]}


@pytest.mark.parametrize(("config", "windows"), [
    (GEMMA3, tuple(float("inf") if (i + 1) % 6 == 0 else 512.0 for i in range(18))),
    ({**{k: v for k, v in GEMMA3.items() if k != "layer_types"}, "sliding_window_pattern": 6},
     tuple(float("inf") if (i + 1) % 6 == 0 else 512.0 for i in range(18))),
    ({**LLAMA, "model_type": "mistral", "num_hidden_layers": 4, "sliding_window": 4096}, (4096.0,) * 4),
    ({**LLAMA, "model_type": "mistral", "num_hidden_layers": 4, "sliding_window": None}, None),
    ({**LLAMA, "model_type": "qwen2", "num_hidden_layers": 6, "sliding_window": 1024, "use_sliding_window": True,
      "max_window_layers": 4}, (float("inf"),) * 4 + (1024.0,) * 2),
    ({**LLAMA, "model_type": "qwen2", "num_hidden_layers": 6, "sliding_window": 1024, "use_sliding_window": False,
      "max_window_layers": 4}, None),
])
def test_which_layers_slide_is_read_from_the_config(config, windows):
    assert kv_geometry(config).layer_windows == windows


def test_the_geometry_and_the_engine_agree_on_which_layers_slide():
    """The memory (wzbounds.memory, from the config) and the masks (validation.engine.masks, from the model's
    config object) name the same sliding layers for Gemma 3, Mistral and Qwen2."""
    from transformers import Gemma3TextConfig, MistralConfig, Qwen2Config

    from validation.engine.masks import SLIDING, AttentionLayout

    for cfg in (Gemma3TextConfig(num_hidden_layers=12, sliding_window=64), MistralConfig(num_hidden_layers=3,
                sliding_window=32), Qwen2Config(num_hidden_layers=6, use_sliding_window=True, sliding_window=16,
                max_window_layers=2)):
        layout = AttentionLayout.of(cfg)
        windows = kv_geometry(cfg).layer_windows
        assert [w != float("inf") for w in windows] == [t == SLIDING for t in layout.layer_types]
        assert {w for w in windows if w != float("inf")} == {float(layout.sliding_window)}


def test_gemma3_memory_caps_its_sliding_layers_by_hand():
    """Gemma-3-270m at 28,588 tokens in float32: 3 global layers hold 28,588 entries, 15 sliding
    layers 512 each, at 2 x 1 x 256 x 4 bytes: 0.178 GiB, not the 0.98 GiB of 18 growing layers."""
    import wzbounds as wz

    kv = kv_geometry(GEMMA3, dtype="float32")
    by_hand = (3 * 28588 + 15 * 512) * 2 * 1 * 256 * 4
    assert kv.cache_bytes(28588) == by_hand
    assert wz.cache_memory(28588, kv=kv).kv_gib == pytest.approx(by_hand / 2**30, rel=1e-15)
    assert wz.cache_memory(28588, kv=kv).kv_gib == pytest.approx(0.178, abs=5e-4)
    assert kv.cache_bytes(100) == 100 * kv.bytes_per_token  # below every window: every layer grows
    assert wz.geometry("gemma-3-270m", "float32").cache_bytes(28588) == by_hand
