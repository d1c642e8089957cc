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


def test_heads_default_to_full_attention():
    cfg = {k: v for k, v in LLAMA.items() if k != "num_key_value_heads"}
    assert kv_geometry(cfg).n_kv_heads == 9


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"num_attention_heads": 4}, "lacks num_hidden_layers"),
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
