"""A user's GGUF: converted once, cached by the file's sha256, verified on use, and tokenized by the
project's GGUF tokenizer (the same ids under both transformers pins); a tokenizer we do not build is
converted by transformers with a one-line note. Checked on a tiny Llama GGUF written by hand."""

import json

import pytest

from tests.validation.tiny import LAYERS as GGUF_LAYERS
from tests.validation.tiny import tiny_llama_gguf
from validation.data.cache import DIGESTS
from validation.data.models import load_model


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("WZBOUNDS_CACHE", str(folder))
    return folder


def conversions(cache):
    return sorted(p for p in (cache / "models").iterdir() if p.is_dir() and not p.name.startswith("."))


def test_a_user_gguf_is_converted_once_cached_by_its_digest_and_tokenized_by_the_project(tmp_path, cache, capsys):
    gguf = tiny_llama_gguf(tmp_path / "mine.gguf")
    first = load_model(str(gguf), device="cpu")
    assert first.kv.n_layers == GGUF_LAYERS and first.name == "mine.gguf"
    # the project's tokenizer, by hand: "smollm" splits the digit from the whitespace run before it
    assert first.encode("  1") == [6, 5] and first.encode("ab a") == [3, 4, 1] and first.bos_id is None
    (folder,) = conversions(cache)
    assert json.loads((folder / "wzbounds-source.json").read_text())["sha256"][:16] in folder.name
    stamp = (folder / DIGESTS).stat().st_mtime_ns
    second = load_model(str(gguf), device="cpu")  # no second conversion
    assert (folder / DIGESTS).stat().st_mtime_ns == stamp and conversions(cache) == [folder]
    ids = [3, 4, 1, 5]
    import torch

    with torch.no_grad():
        a = first.model(torch.tensor([ids])).logits
        b = second.model(torch.tensor([ids])).logits
    assert torch.equal(a, b)
    # another file (other weights): another conversion
    load_model(str(tiny_llama_gguf(tmp_path / "other.gguf", seed=1)), device="cpu")
    assert len(conversions(cache)) == 2
    assert "note" not in capsys.readouterr().err


def test_a_conversion_whose_files_changed_is_rebuilt_not_trusted(tmp_path, cache):
    gguf = tiny_llama_gguf(tmp_path / "mine.gguf")
    import torch

    # cloned: the loaded weights are memory-mapped from the cached files this test corrupts
    reference = [p.detach().clone() for p in load_model(str(gguf), device="cpu").model.parameters()]
    (folder,) = conversions(cache)
    weights = next(folder.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-64] + bytes(64))  # flipped bytes at the end
    again = load_model(str(gguf), device="cpu")
    for p, q in zip(reference, again.model.parameters()):
        assert torch.equal(p, q)


def test_a_tokenizer_the_project_does_not_build_is_converted_by_transformers_with_a_note(tmp_path, cache, capsys):
    gguf = tiny_llama_gguf(tmp_path / "llama3.gguf", pre="llama-bpe")
    try:
        load_model(str(gguf), device="cpu")
    except ValueError as exc:  # transformers may not convert this tiny vocabulary: still one line
        assert "\n" not in str(exc)
    err = capsys.readouterr().err
    assert "note: llama3.gguf: pre-tokenizer 'llama-bpe'" in err and "converted by transformers" in err
    assert err.count("\n") == 1
