"""An independent byte-level BPE for the embedded model, written by hand as the tests' reference.

llama.cpp's two splits for the GGUF's "smollm" pre-tokenizer (every digit apart, then GPT-2's
regex), GPT-2's byte-to-character table, and the GGUF's merges applied lowest rank first, read
with `gguf` directly: nothing here comes from `validation.data.tokenizer` or transformers.
"""

from __future__ import annotations

import functools

import regex

from validation.data.models import embedded_gguf

GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
DIGIT = regex.compile(r"(\p{N})")  # split around every digit, keeping it
TRICKY = ("Hello world!\n    x = [1, 22,\n        333]  # 2024 naïve café\tend\r\n"
          "It's 3.14159, isn't it?  \u00a0 Ångström 你好 😀 1,000,000   7\n\n\n  ")


def _gpt2_byte_characters() -> dict[int, str]:
    """GPT-2's table: printable bytes stand for themselves, the others for code points from 256 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


@functools.lru_cache(maxsize=1)
def vocabulary():
    from gguf import GGUFReader

    reader = GGUFReader(str(embedded_gguf()))
    strings = lambda key: [bytes(reader.fields[key].parts[i]).decode() for i in reader.fields[key].data]  # noqa: E731
    tokens = strings("tokenizer.ggml.tokens")
    ranks = {tuple(merge.split(" ", 1)): rank for rank, merge in enumerate(strings("tokenizer.ggml.merges"))}
    return {token: i for i, token in enumerate(tokens)}, ranks, reader


def reference_ids(text: str) -> list[int]:
    """Byte-level BPE by hand: split, map bytes to characters, merge the lowest-ranked pair until none."""
    vocab, ranks, _ = vocabulary()
    chars = _gpt2_byte_characters()
    ids = []
    pieces = [p for chunk in DIGIT.split(text) for p in GPT2_SPLIT.findall(chunk)]
    for piece in pieces:
        word = [chars[b] for b in piece.encode("utf-8")]
        while len(word) > 1:
            pairs = [(ranks.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
            rank, i = min(pairs)
            if rank == float("inf"):
                break
            word[i:i + 2] = [word[i] + word[i + 1]]
        ids.extend(vocab[symbol] for symbol in word)
    return ids
