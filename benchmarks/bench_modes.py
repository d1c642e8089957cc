"""Benchmark: evict and online modes, per-pair / token-by-token against one masked forward.

On the embedded SmolLM2-135M (CPU here, GPU where present), for the same prefixes and
budgets (default: 2 random prefixes of 256 tokens, 8 targets, budgets 1, 2, 4, ..., 128),
policies sliding and sink, it prints side by side in one run:

- evict: one cache edit and forward per (target, budget) (the reference) against one
  masked forward of the queries per prefix (goal: at least 20x);
- online: the token-by-token decoder with eviction (the reference) against one banded
  forward per batch of budgets (goal: at least 10x);
- each mode's time over recompute's (positions preserved) on the same grid (goals: evict
  at most 0.4x, online at most 1x), and the masked modes' tokens per second (evict: the
  queries; online: the rows each budget's targets depend on) as a fraction of a plain causal
  forward's, measured here on the same prefixes. The masked evict reuses the cache of the
  full-context forward that every mode needs anyway (so its prefill costs nothing extra);
  the per-pair reference uses the same cache.

`python benchmarks/bench_modes.py [--model PATH] [--device auto] [--length 256] [--targets 8] [--prefixes 2]`
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from validation.data.models import load_model
from validation.engine import Engine
from validation.policies import make_policy


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--targets", type=int, default=8)
    ap.add_argument("--prefixes", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    lm = load_model(args.model, device=args.device)
    engine = Engine(lm, max_batch_tokens=4096)
    budgets = [2**i for i in range(8)]
    rng = np.random.default_rng(0)
    contexts = [engine.context(rng.integers(100, 20000, args.length), args.targets) for _ in range(args.prefixes)]
    ids = torch.as_tensor(np.stack([c.tokens for c in contexts]), device=engine.device)

    def plain(i):  # the model's own causal forward, no explicit mask: the throughput to compare with
        with torch.inference_mode():
            return engine.model(input_ids=ids[i : i + 1], logits_to_keep=args.targets).logits

    plain(0)  # warm-up
    raw = timed(lambda: [plain(i) for i in range(len(contexts))])
    raw_rate = ids.numel() / raw
    print(f"model {lm.name} on {engine.device}; {args.prefixes} prefixes x {args.length} tokens, "
          f"{args.targets} targets, budgets {budgets}; raw causal forward {raw_rate:,.0f} tokens/s")
    print(f"{'policy':<8} {'recompute':>10} {'evict pairs':>12} {'evict mask':>11} {'x':>6} {'/rec':>6} "
          f"{'online tok':>11} {'online mask':>12} {'x':>6} {'/rec':>6}")
    for name in ("sliding", "sink"):
        policy = make_policy(name)
        def run(f):
            return timed(lambda: [f(c) for c in contexts])

        rec = run(lambda c: engine.recompute(c, policy, budgets, "preserved"))
        ev_pairs = run(lambda c: engine.evict(c, policy, budgets, method="pairs"))
        ev_mask = run(lambda c: engine.evict(c, policy, budgets, method="masked"))
        on_tok = run(lambda c: engine.online(c, policy, budgets, method="tokens"))
        on_mask = run(lambda c: engine.online(c, policy, budgets, method="masked"))
        print(f"{name:<8} {rec:9.2f}s {ev_pairs:11.2f}s {ev_mask:10.2f}s {ev_pairs / ev_mask:5.1f}x "
              f"{ev_mask / rec:5.2f}x {on_tok:10.2f}s {on_mask:11.2f}s {on_tok / on_mask:5.1f}x {on_mask / rec:5.2f}x")
        n_queries = args.targets * len(budgets)
        evict_tokens = len(contexts) * n_queries
        online_tokens = sum(engine._cone(engine._online_kept(c, policy, k), c.targets).size
                            for c in contexts for k in budgets)
        print(f"{'':<8} masked throughput as a fraction of the raw forward: evict "
              f"{evict_tokens / ev_mask / raw_rate:.0%}, online {online_tokens / on_mask / raw_rate:.0%}")


if __name__ == "__main__":
    main()
