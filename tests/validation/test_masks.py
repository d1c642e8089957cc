"""The attention masks (validation.engine.masks) against a brute-force reading of their rule, and the
layouts read from each kind of config."""

import numpy as np
import pytest
import torch
from transformers import Gemma3TextConfig, LlamaConfig, MistralConfig

from validation.engine.masks import FULL, SLIDING, AttentionLayout


def small(cls, **kw):
    return cls(vocab_size=16, hidden_size=16, intermediate_size=32, num_hidden_layers=4, num_attention_heads=2,
               num_key_value_heads=1, head_dim=8, **kw)


def test_layouts_follow_the_config():
    assert AttentionLayout.of(small(LlamaConfig)) == AttentionLayout((FULL,) * 4, None)
    assert AttentionLayout.of(small(MistralConfig, sliding_window=5)) == AttentionLayout((SLIDING,) * 4, 5)
    gemma = AttentionLayout.of(small(Gemma3TextConfig, sliding_window=3, layer_types=[SLIDING, SLIDING, SLIDING, FULL]))
    assert gemma == AttentionLayout((SLIDING, SLIDING, SLIDING, FULL), 3)


def test_unknown_layer_types_and_a_sliding_layer_without_window_are_refused():
    with pytest.raises(ValueError, match="layer types chunked_attention are not supported"):
        AttentionLayout.of(small(LlamaConfig, layer_types=["chunked_attention"] * 4))
    with pytest.raises(ValueError, match="no sliding_window >= 1"):
        AttentionLayout.of(small(Gemma3TextConfig, sliding_window=None, layer_types=[SLIDING] * 4))


def brute_force(allowed, qpos, kpos, window):
    """The additive mask entry by entry: 0 where query j may read key i, -inf-like elsewhere."""
    B, q, n = allowed.shape
    out = np.full((B, 1, q, n), np.finfo(np.float32).min, dtype=np.float32)
    for b in range(B):
        for j in range(q):
            for i in range(n):
                if allowed[b, j, i] and (window is None or qpos[b, j] - kpos[b, i] < window):
                    out[b, 0, j, i] = 0.0
    return out


@pytest.mark.parametrize("seed", range(3))
def test_every_layer_type_reads_its_rule_on_position_ids(seed):
    rng = np.random.default_rng(seed)
    B, q, n, W = 2, 5, 9, 3
    allowed = rng.random((B, q, n)) < 0.6
    kpos = np.sort(rng.choice(40, size=(B, n), replace=True), axis=1)  # gaps: kept entries far apart
    qpos = kpos[:, -q:] + rng.integers(0, 3, size=(B, q))
    layout = AttentionLayout((SLIDING, FULL), W)
    got = layout.masks(torch.as_tensor(allowed), torch.as_tensor(qpos), torch.as_tensor(kpos), torch.float32)
    assert set(got) == {SLIDING, FULL}
    np.testing.assert_array_equal(got[FULL].numpy(), brute_force(allowed, qpos, kpos, None))
    np.testing.assert_array_equal(got[SLIDING].numpy(), brute_force(allowed, qpos, kpos, W))


def test_one_layer_type_gives_one_tensor_and_shared_positions_broadcast():
    allowed = torch.ones(1, 2, 3, dtype=torch.bool)
    mask = AttentionLayout((SLIDING,) * 2, 2).masks(allowed, torch.tensor([5, 6]), torch.tensor([0, 5, 6]),
                                                    torch.float32)
    assert isinstance(mask, torch.Tensor) and mask.shape == (1, 1, 2, 3)
    assert (mask[0, 0] == 0).tolist() == [[False, True, True], [False, True, True]]  # position 0: 5 and 6 back
