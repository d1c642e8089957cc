"""Benchmark: the anchored engine against the naive protocol on one dense window grid.

On the embedded SmolLM2-135M (CPU here, GPU where present), for one prefix
with --targets consecutive targets (default 32) and every window
1..--max-window (default 128), it prints side by side in one run:

- (t, w) samples per second of the anchored engine (all 4096 samples) and of
  the naive protocol (one forward per sample, timed on 256 random samples of
  the same grid), and their ratio (goal: at least 50x; it grows with the
  grid, bounded by the ratio of forward tokens K W^2 / (K + W)^2: 16x on the
  default grid, 51x with --targets 64 --max-window 1024 on a 2-core CPU);
- the anchored engine's forward throughput, in tokens through the model per
  second including its batching and divergences, as a fraction of the raw
  forward throughput of the same batches (goal: at least 80%).

`python benchmarks/bench_engine.py [--model PATH] [--device auto] [--targets K] [--max-window W]`
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from validation.data.models import load_model
from validation.engine import Engine
from validation.policies import make_policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--targets", type=int, default=32)
    ap.add_argument("--max-window", type=int, default=128)
    args = ap.parse_args()
    torch.manual_seed(0)
    lm = load_model(args.model, device=args.device)
    engine = Engine(lm, max_batch_tokens=4096)
    K, W = args.targets, args.max_window
    L = W + K
    tokens = np.random.default_rng(0).integers(100, 20000, L)
    ctx = engine.context(tokens, K)
    sliding = make_policy("sliding")
    budgets = list(range(1, W + 1))
    kept = engine.kept_sets(ctx, sliding, budgets)
    anchored_tokens = engine._anchored_cost(ctx, kept, ())

    engine.recompute(ctx, sliding, budgets[:4], "preserved", method="anchored")  # warm-up
    start = time.perf_counter()
    rows = engine.recompute(ctx, sliding, budgets, "preserved", method="anchored")
    t_anchored = time.perf_counter() - start
    rate_anchored = len(rows) / t_anchored

    rng = np.random.default_rng(1)
    pairs = list(kept)
    subset = {pairs[i]: kept[pairs[i]] for i in rng.choice(len(pairs), 256, replace=False)}
    start = time.perf_counter()
    laws = engine._naive(ctx, subset, "preserved")
    engine._rows(ctx, laws)
    t_naive = time.perf_counter() - start
    rate_naive = len(subset) / t_naive

    # raw forward throughput on the same left-padded batches the anchored engine builds
    anchors = sorted({int(v[0]) for v in kept.values()})
    per = engine._rows_per_batch(L - anchors[0], K)
    dev = lm.device
    raw_tokens, t_raw = 0, 0.0
    for b in range(0, len(anchors), per):
        batch = anchors[b : b + per]
        width = L - batch[0]
        ids = torch.zeros(len(batch), width, dtype=torch.long, device=dev)
        mask = torch.zeros_like(ids)
        pos = torch.zeros_like(ids)
        for r, s in enumerate(batch):
            ids[r, width - (L - s):] = torch.as_tensor(tokens[s:], device=dev)
            mask[r, width - (L - s):] = 1
            pos[r, width - (L - s):] = torch.arange(s, L, device=dev)
        start = time.perf_counter()
        with torch.inference_mode():
            lm.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False, logits_to_keep=K)
        t_raw += time.perf_counter() - start
        raw_tokens += int(mask.sum())

    print(f"device {lm.device}, model {lm.name}; grid: {K} targets x windows 1..{W} = {len(rows)} samples")
    print(f"anchored: {rate_anchored:10.1f} samples/s ({anchored_tokens} forward tokens in {t_anchored:.2f} s)")
    print(f"naive:    {rate_naive:10.1f} samples/s (256 samples in {t_naive:.2f} s)")
    print(f"speed-up anchored / naive: {rate_anchored / rate_naive:.1f}x (goal >= 50x); for reference, the ratio of "
          f"forward tokens: {engine._naive_cost(kept) / anchored_tokens:.1f}x")
    print(f"engine forward throughput {anchored_tokens / t_anchored:.0f} tok/s vs raw {raw_tokens / t_raw:.0f} tok/s: "
          f"{anchored_tokens / t_anchored / (raw_tokens / t_raw):.0%} (goal >= 80%)")


if __name__ == "__main__":
    main()
