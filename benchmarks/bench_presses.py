"""Benchmark: kvpress presses, one prefill under the press per budget against one recorded prefill replayed.

On the embedded SmolLM2-135M (CPU here, GPU where present), for the arena's grid (default: 2
prefixes of 256 tokens, one target, budgets 4, 8, ..., 128), it times side by side in one run,
for each press and for all of them together (the recorded prefill is shared by every press of a
prefix, as in `wzbounds arena`):

- "prefill": the reference, a prefill of the prefix under the press for every budget;
- "replay": one plain prefill per prefix, the press's hook replayed per budget (Engine._evict_press);

and prints the ratio, with the largest TV difference between the two paths (they must agree).
Needs kvpress: `.venv-kvpress/bin/python benchmarks/bench_presses.py` (`bash dev.sh arena` creates it).

`python benchmarks/bench_presses.py [--model PATH] [--device auto] [--length 256] [--prefixes 2] [--press NAME ...]`
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--prefixes", type=int, default=2)
    ap.add_argument("--press", action="append", help="presses (default: StreamingLLM, SnapKV, TOVA, ExpectedAttention)")
    args = ap.parse_args()
    try:
        import kvpress  # noqa: F401
    except ImportError:
        print("bench_presses: kvpress is not installed here; run it with .venv-kvpress/bin/python "
              "(`bash dev.sh arena` creates that environment)")
        return
    from validation.data.models import load_model
    from validation.engine import Engine
    from validation.policies import parse_policy

    presses = args.press or ["StreamingLLMPress", "SnapKVPress", "TOVAPress", "ExpectedAttentionPress"]
    lm = load_model(args.model, device=args.device)
    engine = Engine(lm)
    budgets = [4, 8, 16, 32, 64, 128]
    rng = np.random.default_rng(0)
    tokens = [rng.integers(100, 20000, args.length) for _ in range(args.prefixes)]
    totals = {"prefill": 0.0, "replay": 0.0}
    print(f"{'press':<26} {'prefill s':>10} {'replay s':>10} {'ratio':>7} {'max |dTV|':>10}")
    contexts = [engine.context(t, 1) for t in tokens]
    for name in presses:
        policy = parse_policy(f"kvpress:{name}")
        times, tvs = {}, {}
        for path in ("prefill", "replay"):
            fresh = [engine.context(t, 1) for t in tokens] if path == "replay" else contexts
            start = time.perf_counter()
            rows = [r for ctx in fresh for r in engine.evict(ctx, policy, budgets, method=path)]
            times[path] = time.perf_counter() - start
            tvs[path] = np.array([r["tv"] for r in rows])
            totals[path] += times[path]
        print(f"{name:<26} {times['prefill']:>10.2f} {times['replay']:>10.2f} "
              f"{times['prefill'] / times['replay']:>6.1f}x {np.abs(tvs['prefill'] - tvs['replay']).max():>10.1e}")
    print(f"{'all, each press alone':<26} {totals['prefill']:>10.2f} {totals['replay']:>10.2f} "
          f"{totals['prefill'] / totals['replay']:>6.1f}x")
    shared = [engine.context(t, 1) for t in tokens]
    start = time.perf_counter()
    for name in presses:
        for ctx in shared:
            engine.evict(ctx, parse_policy(f"kvpress:{name}"), budgets, method="replay")
    together = time.perf_counter() - start
    print(f"{'all, prefill shared':<26} {totals['prefill']:>10.2f} {together:>10.2f} "
          f"{totals['prefill'] / together:>6.1f}x  (the arena's way)")


if __name__ == "__main__":
    main()
