"""validation.geometry: KV geometry from transformers-style configurations."""

import json

import pytest

from validation.geometry import kv_geometry

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
