"""The embedded model's tokenizer, built from the GGUF's own vocabulary and merges.

transformers' GGUF conversion is not stable across versions: 5.2.0 (kvpress's pin) turns the
SmolLM2 GGUF into a CodeLlama-style tokenizer that puts `<|im_start|>` first and byte-falls-back,
5.23.0 into a plain byte-level BPE; neither reads the GGUF's pre-tokenizer name, so both merge a
whitespace run into the digit after it ("    1"), which SmolLM2's own tokenizer never does. We
build the tokenizer ourselves with `tokenizers`, from the metadata the GGUF carries:

    model        byte-level BPE over `tokenizer.ggml.tokens` with `tokenizer.ggml.merges`
    pre          the split the GGUF names in `tokenizer.ggml.pre` (llama.cpp's table):
                   "smollm", "starcoder"  every digit apart (\\p{N}), then GPT-2's regex
                   "gpt2"                 GPT-2's regex
    special      the CONTROL tokens (token_type 3), never split, never merged
    BOS          put first only when `tokenizer.ggml.add_bos_token` says so (SmolLM2: no)

so every environment tokenizes a text into the same ids, the ids SmolLM2 was trained on.
"""

from __future__ import annotations

from pathlib import Path

CONTROL = 3  # llama.cpp's token type for special (control) tokens
DIGITS_FIRST = ("smollm", "starcoder")  # pre-tokenizers that split every digit apart before GPT-2's regex
BYTE_LEVEL_ONLY = ("gpt2",)


def unsupported(path: str | Path) -> str | None:
    """None when `gguf_tokenizer` builds the GGUF's tokenizer (byte-level BPE with a pre-tokenizer
    named here), else why not, in words."""
    try:
        _gguf_tokenizer_fields(Path(path))
    except ValueError as exc:
        return str(exc).split(": ", 1)[-1]
    return None


def _gguf_tokenizer_fields(path: Path) -> dict:
    """The tokenizer metadata of a GGUF file: strings, string lists, integer lists and flags."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def value(key: str, default=None):
        field = reader.fields.get(key)
        if field is None:
            return default
        kind = field.types[-1].name
        items = [field.parts[i] for i in field.data]
        if kind == "STRING":
            items = [bytes(part).decode("utf-8") for part in items]
        else:
            items = [part.tolist()[0] for part in items]
        return items if field.types[0].name == "ARRAY" else items[0]

    fields = {
        "model": value("tokenizer.ggml.model"), "pre": value("tokenizer.ggml.pre", "gpt2"),
        "tokens": value("tokenizer.ggml.tokens"), "token_type": value("tokenizer.ggml.token_type"),
        "merges": value("tokenizer.ggml.merges"), "add_bos": bool(value("tokenizer.ggml.add_bos_token", False)),
        "bos": value("tokenizer.ggml.bos_token_id"), "eos": value("tokenizer.ggml.eos_token_id"),
        "unk": value("tokenizer.ggml.unknown_token_id"), "pad": value("tokenizer.ggml.padding_token_id"),
    }
    if fields["model"] != "gpt2" or fields["tokens"] is None or fields["merges"] is None:
        raise ValueError(f"{path.name}: tokenizer model {fields['model']!r}"
                         f"{' without merges' if fields['merges'] is None else ''}; only byte-level BPE "
                         "('gpt2' with tokens and merges) is built here")
    if fields["pre"] not in DIGITS_FIRST + BYTE_LEVEL_ONLY:
        raise ValueError(f"{path.name}: pre-tokenizer {fields['pre']!r} is not one of {DIGITS_FIRST + BYTE_LEVEL_ONLY}")
    return fields


def gguf_tokenizer(path: str | Path):
    """A transformers tokenizer for the byte-level BPE stored in the GGUF file at `path`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    f = _gguf_tokenizer_fields(Path(path))
    tokens = f["tokens"]
    vocab = {token: i for i, token in enumerate(tokens)}
    merges = [tuple(merge.split(" ", 1)) for merge in f["merges"]]
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    core.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                          if f["pre"] in DIGITS_FIRST else byte_level)
    core.decoder = decoders.ByteLevel()
    special = [tokens[i] for i, kind in enumerate(f["token_type"]) if kind == CONTROL]
    core.add_special_tokens(special)

    def name(i: int | None) -> str | None:
        return tokens[i] if i is not None else None

    if f["add_bos"]:
        core.post_processor = processors.TemplateProcessing(
            single=f"{name(f['bos'])} $A", pair=f"{name(f['bos'])} $A {name(f['bos'])} $B",
            special_tokens=[(name(f["bos"]), f["bos"])])
    else:
        core.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B", special_tokens=[])
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token=name(f["bos"]), eos_token=name(f["eos"]), unk_token=name(f["unk"]),
        pad_token=name(f["pad"]), clean_up_tokenization_spaces=False)
