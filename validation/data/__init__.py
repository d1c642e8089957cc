"""What a measurement reads: models, their tokenizers and geometry, the corpora, and the shared cache.

    cache       the artifact cache (~/.cache/wzbounds): built once under a lock, verified on use
    fetch       pinned downloads through the package clients, sha256-checked
    models      load_model: the embedded SmolLM2, a GGUF file, a folder, a cached hub id
    tokenizer   the embedded model's byte-level BPE tokenizer from its GGUF
    geometry    a model's attention layout and KV-cache geometry, from its config (no torch)
    corpora     the natural and code corpora, or the user's own texts; prefixes from them
"""
