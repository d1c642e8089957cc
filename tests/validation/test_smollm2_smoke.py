"""A CPU smoke run on the embedded SmolLM2-135M: fetched, verified, loaded and measured."""

import numpy as np
import torch

from tests.validation.reference_bpe import TRICKY, reference_ids
from validation.data.models import load_model
from validation.runs.protocol import Protocol, curves, run


def test_the_default_model_tokenizes_as_smollm2_and_adds_no_bos():
    model = load_model("default", device="cpu")
    assert model.encode(TRICKY) == reference_ids(TRICKY)
    assert model.bos_id is None and model.resolve_bos("auto").describe() == "no BOS added"


def test_smollm2_tv_decreases_with_the_window(tmp_path):
    torch.set_num_threads(2)
    protocol = Protocol(domain="natural", budgets=(2, 8, 32, 128), prefixes=2, prefix_length=160, targets=4)
    store = run(protocol, tmp_path, progress=False)
    c = curves(store.table(), "sliding", "recompute")
    delta = c.mean("tv")
    assert np.all(np.diff(delta) < 0), delta
    assert 0.01 < delta[0] < 1
