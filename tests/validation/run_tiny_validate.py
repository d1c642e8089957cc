"""`python run_tiny_validate.py CORPUS OUT`: the validate pipeline on the tiny model, as a killable process."""

import sys

import torch

from validation.data.corpora import folder_corpus
from validation.testing.tiny import tiny_model
from validation.validate import validate


def main() -> None:
    torch.set_num_threads(1)
    corpus = folder_corpus(sys.argv[1])
    validate(sys.argv[2], lm=tiny_model(), corpora={"natural": corpus, "code": corpus}, n_boot=100, progress=False)


if __name__ == "__main__":
    main()
