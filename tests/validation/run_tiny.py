"""Run a small protocol on the tiny model over a folder corpus: `python run_tiny.py CORPUS OUT`.

Used by the kill-and-resume tests as a separate process that can be SIGKILLed,
and under torchrun by the distributed tests (each rank takes its shard).
"""

import sys

import torch

from validation.data.corpora import folder_corpus
from validation.runs.distributed import process_group
from validation.runs.protocol import Protocol, run
from validation.testing.tiny import tiny_model

PROTOCOL = Protocol(model="tiny", domain="tiny-corpus", policies=("sliding", "sink", "random"),
                    modes=("recompute", "evict"), budgets=(1, 2, 4, 8, 16), prefixes=10, prefix_length=48,
                    targets=4, mus=(0.1,))


def main() -> None:
    torch.set_num_threads(1)
    corpus, out = sys.argv[1], sys.argv[2]
    with process_group("cpu") as (rank, world, _):
        run(PROTOCOL, out, lm=tiny_model(), corpus=folder_corpus(corpus), progress=False, shard=(rank, world))


if __name__ == "__main__":
    main()
