"""What several well-separated targets per prefix buy: measure a preset's reference, sink and random
curves with spaced targets on the embedded model, then compare the power of sink_recovery and
bound_prediction on worlds resampled from those panels and from the committed one-target panels.

    python docs/measure_spaced_targets.py OUT [--preset quick] [--targets 4] [--spacing 48] [--draws 300]
                                              [--prefix-length N] [--top-budget K]

--prefix-length and --top-budget replace the preset's (the first target should see at least 4 times
the top budget: prefix length >= 4 K + (targets - 1) spacing). OUT receives the measurements
(resumable) and their panels (OUT/panels). Prints, for both panel sets, the verdicts of power_law,
recency_two_orders and the two claims on the measured curves themselves (with roughly how many
documents would decide an inconclusive one), then one row per
claim, world and panel set: the rate of wrong verdicts and the rate of decided ones
(1 - inconclusive). docs/validation.md ("Several targets per prefix") quotes a run of this script.
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLES = {"sliding": "sliding_recompute_preserved", "sink": "sink_recompute_preserved",
         "random": "random_recompute_preserved"}
CLAIMS = ("sink_recovery", "bound_prediction")


def measure(out: Path, preset: str, targets: int, spacing: int, prefix_length: int | None = None,
            top_budget: int | None = None) -> Path:
    from validation.data.models import load_model
    from validation.runs.panels import export_panels
    from validation.runs.presets import DOMAINS, presets
    from validation.runs.runner import measure_parts

    lm = load_model("default")
    main = presets(preset, "default", lm.max_positions, lm.dtype)["main"]
    main = replace(main, policies=("sliding", "sink", "random"), modes=("recompute",), positions=("preserved",),
                   reindex=None, targets=targets, target_spacing=spacing)
    if prefix_length is not None:
        main = replace(main, prefix_length=prefix_length)
    if top_budget is not None:
        main = replace(main, budgets=tuple(k for k in main.budgets if k <= top_budget))
    measure_parts(out, {"main": main}, DOMAINS, lm=lm, progress=False)
    export_panels(out, out / "panels")
    return out / "panels"


def verdicts(panels, domain: str):
    """power_law and the two claims on the measured panels, as validate decides them (1000 resamples)."""
    import wzbounds as wz
    from validation.runs.claims import DomainData, decide

    data = DomainData(domain, panels["sliding"], None, panels["sink"], 4, panels["random"], {})
    return [f.verdict for f in decide(data, wz.geometry("smollm2-135m"), n_boot=1000)
            if f.name in ("power_law", "recency_two_orders", *CLAIMS)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--preset", default="quick", choices=("quick", "standard"))
    ap.add_argument("--targets", type=int, default=4)
    ap.add_argument("--spacing", type=int, default=48)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--prefix-length", type=int, help="the prefix length (default: the preset's)")
    ap.add_argument("--top-budget", type=int, help="the largest budget (default: the preset's)")
    args = ap.parse_args()
    from wzbounds.claims.calibration import read_panels, worlds, wrong_verdict_rates

    spaced = measure(args.out, args.preset, args.targets, args.spacing, args.prefix_length, args.top_budget)
    sets = {"1 target": ROOT / "docs" / "panels" / args.preset, f"{args.targets} spaced {args.spacing}": spaced}
    for label, root in sets.items():
        for domain in ("natural", "code"):
            for v in verdicts(read_panels(root / domain / "main", ROLES), domain):
                needed = v.numbers.get("documents_to_decide")
                print(f"{label}, {domain}: {v.claim} {v.outcome} {v.interval}"
                      + (f", about {needed} documents would decide it" if needed else "")
                      + (f": {v.reason}" if v.claim == "power_law" else ""), flush=True)
    print("| panels | domain | claim | world | truth | wrong | decided |\n|---|---|---|---|---|---|---|")
    for label, root in sets.items():
        for domain in ("natural", "code"):
            ws = [w for w in worlds(read_panels(root / domain / "main", ROLES), size=label, n_boot=200)
                  if w.claim in CLAIMS]
            for r in wrong_verdict_rates(ws, args.draws, seed=2026):
                print(f"| {label} | {domain} | {r.claim} | {r.world} | {'true' if r.truth else 'false'} | "
                      f"{r.wrong / r.draws:.1%} | {1 - r.inconclusive / r.draws:.0%} |", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
