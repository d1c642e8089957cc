"""The embedded model's tokenizer is the same in every environment, and it is SmolLM2's own.

The reference is the independent byte-level BPE of tests/validation/reference_bpe.py. dev.sh
runs this file under transformers 5.23 and 5.2, so both tokenize every text below into the same
ids as the reference, hence as each other.
"""

from __future__ import annotations

import pytest

from tests.validation.reference_bpe import TRICKY, reference_ids, vocabulary
from validation.data.corpora import load_corpus
from validation.data.models import embedded_gguf
from validation.data.tokenizer import gguf_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """The tokenizer as load_model sees it: written by gguf_tokenizer, read back by AutoTokenizer."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("tokenizer")
    gguf_tokenizer(embedded_gguf()).save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def test_digits_are_split_from_the_whitespace_before_them(tokenizer):
    """The known answer that tells SmolLM2's pre-tokenizer from a plain GPT-2 one: an indent
    before a digit is one whitespace token, then the digit; GPT-2's regex alone would give
    three spaces, then a space merged with nothing, then the digit."""
    vocab, _, _ = vocabulary()
    ids = tokenizer("    1", add_special_tokens=False)["input_ids"]
    assert ids == [vocab["ĠĠĠĠ"], vocab["1"]]
    assert tokenizer("2024", add_special_tokens=False)["input_ids"] == [vocab[d] for d in "2024"]


def test_the_tokenizer_matches_a_bpe_written_by_hand_on_both_corpora(tokenizer):
    texts = [TRICKY]
    for domain in ("natural", "code"):
        documents = load_corpus(domain).documents
        texts += [doc.text[start:start + 3000] for doc in documents[:4] for start in (0, len(doc.text) // 2)]
    for text in texts:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == reference_ids(text)
        assert tokenizer.decode(reference_ids(text)) == text


def test_no_bos_is_added_and_the_special_tokens_are_the_ggufs(tokenizer):
    _, _, reader = vocabulary()
    number = lambda key: int(reader.fields[key].parts[reader.fields[key].data[0]][0])  # noqa: E731
    assert tokenizer("a", add_special_tokens=True)["input_ids"] == tokenizer("a", add_special_tokens=False)["input_ids"]
    assert tokenizer.bos_token_id == number("tokenizer.ggml.bos_token_id") == 1
    assert tokenizer.eos_token_id == number("tokenizer.ggml.eos_token_id") == 2
    assert tokenizer("<|im_start|>user", add_special_tokens=False)["input_ids"][0] == 1  # a control token is one id


def _tiny_gguf(path, pre: str, add_bos: bool):
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(["<s>", "a", "b", "ab", "Ġ", "1", "ĠĠ"])
    writer.add_token_types([3, 1, 1, 1, 1, 1, 1])
    writer.add_token_merges(["a b", "Ġ Ġ"])
    writer.add_bos_token_id(0)
    writer.add_add_bos_token(add_bos)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    return path


def test_a_gguf_that_asks_for_a_bos_gets_it_and_gpt2_keeps_digits_with_spaces(tmp_path):
    """By hand: "ab a" is ab, Ġ, a; with add_bos_token, <s> (id 0) first. Under "gpt2" the regex
    gives " " then " 1" for "  1" (Ġ, Ġ, 1); under "smollm" the digit is split off first (ĠĠ, 1)."""
    gpt2 = gguf_tokenizer(_tiny_gguf(tmp_path / "gpt2.gguf", "gpt2", add_bos=True))
    assert gpt2("ab a")["input_ids"] == [0, 3, 4, 1]
    assert gpt2("  1", add_special_tokens=False)["input_ids"] == [4, 4, 5]
    smollm = gguf_tokenizer(_tiny_gguf(tmp_path / "smollm.gguf", "smollm", add_bos=False))
    assert smollm("ab a")["input_ids"] == [3, 4, 1]
    assert smollm("  1")["input_ids"] == [6, 5]
    with pytest.raises(ValueError, match="pre-tokenizer 'llama3'"):
        gguf_tokenizer(_tiny_gguf(tmp_path / "other.gguf", "llama3", add_bos=False))


def test_only_byte_level_bpe_is_built(tmp_path):
    from gguf import GGUFWriter

    path = tmp_path / "other.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(["<unk>", "a"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    with pytest.raises(ValueError, match="only byte-level BPE"):
        gguf_tokenizer(path)
