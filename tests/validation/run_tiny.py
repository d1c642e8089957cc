"""Run a small protocol on the tiny model over a folder corpus: `python run_tiny.py CORPUS OUT [RANK WORLD]`.

Used by the kill-and-resume tests as a separate process that can be SIGKILLed.
"""

import sys

import torch

from tests.validation.tiny import tiny_model
from validation.corpora import folder_corpus
from validation.protocol import Protocol, run

PROTOCOL = Protocol(model="tiny", domain="tiny-corpus", policies=("sliding", "sink", "random"),
                    modes=("recompute", "evict"), budgets=(1, 2, 4, 8, 16), prefixes=10, prefix_length=48,
                    targets=4, mus=(0.1,))


def main() -> None:
    torch.set_num_threads(1)
    corpus, out = sys.argv[1], sys.argv[2]
    shard = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, 1)
    run(PROTOCOL, out, lm=tiny_model(), corpus=folder_corpus(corpus), progress=False, shard=shard)


if __name__ == "__main__":
    main()
