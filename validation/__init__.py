"""validation: measure real language models under cache policies.

Heavy dependencies (torch, transformers) are imported only by the modules
that need them; `validation.geometry` works without them.
"""
