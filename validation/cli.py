"""The real-model subcommands of the `wzbounds` command: `measure`, `validate` and `arena`.

They need torch and transformers and live here, in `validation`; they join
the theory CLI of `wzbounds.cli` as plugins (entry-point group
"wzbounds.commands" in pyproject.toml), so `wzbounds`, `python -m wzbounds`
and `python -m validation` (for torchrun) are one program. The wzbounds
package's code has no import of validation; the `wzbounds` command loads this
module through its entry point when the validation extra is installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from validation.data.bos import BOS_RULES
from wzbounds.grids import parse_grid, parse_whole_grid

MEASURE_EXAMPLES = """\
examples:
  wzbounds measure --model default --domain natural --policy sliding --budgets 1:1024 --prefix-length 2048 --prefixes 100 --out results/
  wzbounds measure --domain code --policy sliding,sink:n_sink=8,heavy --mode recompute,evict --budgets 1:256 \\
      --prefixes 8 --prefix-length 512 --targets 16 --out results-code/
  wzbounds measure --model ./my-model.gguf --domain ./my-texts/ --policy sliding --positions preserved,reindexed \\
      --budgets 1:512 --prefix-length 1024 --out mine/ --device cuda --dtype bfloat16
  wzbounds measure --policy merge,pooled:block=16,quantized:bits=2 --policy kvpress:TOVAPress --mode evict \\
      --budgets 4:128 --prefix-length 256 --targets 1 --prefixes 16 --out summaries/
  torchrun --nproc-per-node 4 -m validation measure --domain natural --budgets 1:4096 --prefix-length 8192 --prefixes 100 --out big/
Re-running the same command resumes: finished shards are verified and skipped.
"""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def cmd_measure(args: argparse.Namespace) -> None:
    from validation.errors import IncompleteRun
    from validation.policies import split_specs
    from validation.runs.preflight import check_device, check_domain, check_model, whole
    from validation.runs.protocol import Protocol, protocol_config, run
    from validation.runs.store import check_out

    # every argument first: nothing is fetched, loaded or written before they all pass
    protocol = Protocol(
        model=args.model, domain=args.domain, policies=split_specs(",".join(args.policy or ["sliding"])),
        modes=_csv(args.mode),
        positions=_csv(args.positions), budgets=_budgets(args, (1, 2, 4, 8, 16, 32, 64, 128, 256)),
        prefixes=args.prefixes, prefix_length=args.prefix_length, targets=args.targets,
        target_spacing=args.target_spacing, seed=args.seed,
        mus=tuple(float(m) for m in parse_grid("mu", args.mu)), dtype=args.dtype, bos=args.bos,
    )
    whole("max-batch-tokens", args.max_batch_tokens, 1)
    check_model(protocol.model)
    check_domain(protocol.domain)
    check_out(args.out, protocol_config(protocol))
    check_device(args.device)
    if args.dry_run:
        print(f"dry run: {_plan(protocol)} into {args.out}; arguments checked, nothing fetched, loaded or written")
        return
    from validation.data.corpora import load_corpus
    from validation.data.models import load_model, resolve_device
    from validation.runs.distributed import process_group

    resolve_device(args.device)
    corpus = load_corpus(protocol.domain)  # a bad corpus fails in a second, before the model loads
    with process_group(args.device) as (rank, world, device):
        lm = load_model(protocol.model, device=device, dtype=protocol.dtype, trust_remote_code=args.trust_remote_code)
        store = run(protocol, args.out, lm=lm, corpus=corpus, max_batch_tokens=args.max_batch_tokens,
                    progress=not args.quiet, shard=(rank, world))
    if rank == 0:
        rows = sum(e["rows"] for e in store.shards.values())
        print(f"{len(store.shards)} shards, {rows} rows in {args.out}" + (f" ({world} processes)" if world > 1 else ""))
    if store.failures:
        raise IncompleteRun(store.failures, Path(args.out))


def _plan(protocol) -> str:
    """One protocol in words: what a run would measure."""
    tasks = len(protocol.tasks())
    spaced = f", {protocol.target_spacing} apart" if protocol.target_spacing > 1 else ""
    return (f"{protocol.prefixes} prefixes of {protocol.prefix_length} tokens ({protocol.targets} target"
            f"{'s' if protocol.targets > 1 else ''} each{spaced}) x {tasks} tasks "
            f"({', '.join(protocol.policies)} in {', '.join(protocol.modes)} mode) at budgets "
            f"{', '.join(map(str, protocol.budgets))} on {protocol.domain} with model {protocol.model}")


def _common_options(p: argparse.ArgumentParser, *, domains: bool) -> None:
    """The options every real-model command takes, from one place: the model, the domain(s), the BOS
    rule, device, dtype, remote code, a dry run, the output folder and quiet. `domains`: --domain may
    repeat (validate, arena: several domains in one report) or is one domain (measure: one folder)."""
    p.add_argument("--model", default="default", help="'default' (embedded SmolLM2-135M), a .gguf file, a model "
                   "folder, or a hub id already in the local cache")
    if domains:
        p.add_argument("--domain", action="append", help="'natural', 'code' or your own text file / folder; repeat "
                       "for several (default: natural and code)")
    else:
        p.add_argument("--domain", default="natural", help="'natural', 'code', or a text file / folder")
    p.add_argument("--bos", default="auto", choices=BOS_RULES,
                   help="a BOS token first in every context, outside the budget: auto = when the tokenizer adds "
                   "one (the embedded SmolLM2 adds none), always = the tokenizer's BOS token, never")
    p.add_argument("--dry-run", action="store_true", help="check every argument and print what would be measured; "
                   "nothing is fetched, loaded or written")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--dtype", default="float32", help="float32 (default), bfloat16, float16")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow a model folder's own Python code to run (off unless given here)")
    p.add_argument("--out", required=True, help="output folder (created; resumed if it holds this configuration)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _sample_options(p: argparse.ArgumentParser, *, prefixes: int, prefix_length: int, budgets: str,
                    unset: bool = False) -> None:
    """How much is measured, for the commands that take it directly (measure, arena): budgets, prefixes.
    `unset`: the defaults are left None (the command fills them from its size, e.g. the arena's --quick)."""
    p.add_argument("--budgets", default=None, help=f"budgets in cache entries: '1:1024' (powers of two), a list, or "
                   f"START:STOP:N (default {budgets})")
    p.add_argument("--prefixes", type=int, default=None if unset else prefixes, help=f"prefixes (documents) per "
                   f"domain (default {prefixes})")
    p.add_argument("--prefix-length", type=int, default=None if unset else prefix_length, help=f"tokens per prefix "
                   f"(default {prefix_length})")


def _budgets(args: argparse.Namespace, default) -> tuple[int, ...]:
    return tuple(int(b) for b in parse_whole_grid("budgets", args.budgets)) if args.budgets else tuple(default)


def add_measure(top: argparse._SubParsersAction, fmt: type) -> None:
    p = top.add_parser("measure", help="measure a real LM under cache policies (torch + transformers)",
                       description=__doc__, epilog=MEASURE_EXAMPLES, formatter_class=fmt)
    _common_options(p, domains=False)
    from validation.policies import POLICIES

    kept = ", ".join(name for name, cls in POLICIES.items() if cls.kind == "kept")
    summaries = ", ".join(name for name, cls in POLICIES.items() if cls.kind == "summary")
    p.add_argument("--policy", action="append", help=f"policies with optional hyperparameters, comma-separated or "
                   f"repeated: {kept}, e.g. 'sliding,sink:n_sink=8' or 'snapkv:window=16,kernel=7'; evict mode "
                   f"only: the summaries {summaries} ('quantized:bits=4') and kvpress presses "
                   "('kvpress:SnapKVPress,window_size=32', needs wzbounds[kvpress]) (default sliding; all values are "
                   "recorded with the results)")
    p.add_argument("--mode", default="recompute", help="comma-separated: recompute, evict, online")
    p.add_argument("--positions", default="preserved", help="recompute positions: preserved, reindexed (or both)")
    _sample_options(p, prefixes=4, prefix_length=512, budgets="1:256")
    p.add_argument("--targets", type=int, default=16, help="target positions at the end of each prefix (default 16)")
    p.add_argument("--target-spacing", type=int, default=1, help="positions between targets, the last at the end "
                   "of the prefix (default 1: the last positions; spaced targets are nearly independent samples)")
    p.add_argument("--mu", default="0.01,0.1,0.3", help="KL smoothing values (default 0.01,0.1,0.3)")
    p.add_argument("--seed", type=int, default=0, help="seed for prefixes and random-K (default 0)")
    p.add_argument("--max-batch-tokens", type=int, default=8192, help="tokens per forward batch (default 8192)")
    p.set_defaults(func=cmd_measure)


VALIDATE_EXAMPLES = """\
examples:
  wzbounds validate --quick --out report/                   # the embedded SmolLM2-135M, < 10 min on a CPU
  wzbounds validate --standard --out standard/              # every policy and mode, 1-1.5 h on 2 cores
  wzbounds validate --full --model ./Qwen2.5-0.5B --device cuda --out qwen-full/
  wzbounds validate --model ./gemma-3-270m.gguf --domain ./my-texts/ --policy snapkv:window=16 --out mine/
  wzbounds validate --bos always --out with-sink/          # every context starts with the BOS token
Re-running the same command resumes the measurements and rewrites the report.
"""


def cmd_validate(args: argparse.Namespace) -> None:
    from validation.data.models import load_model, resolve_device
    from validation.errors import IncompleteRun
    from validation.policies import split_specs
    from validation.runs.preflight import check_device
    from validation.runs.presets import DOMAINS, presets
    from validation.validate import preflight, validate

    preset = "full" if args.full else "standard" if args.standard else "quick"
    policies = split_specs(",".join(args.policy)) if args.policy else None
    domains = tuple(args.domain) if args.domain else DOMAINS
    modes = _csv(args.mode) if args.mode else None
    preflight(args.out, model=args.model, preset=preset, dtype=args.dtype, domains=domains, n_boot=args.n_boot,
              policies=policies, modes=modes, bos=args.bos)
    check_device(args.device)
    if args.dry_run:
        for part, protocol in presets(preset, args.model, 8192, args.dtype, policies=policies, modes=modes,
                                      bos=args.bos).items():
            print(f"dry run: {part}: {_plan(protocol)} (each of {', '.join(domains)})")
        print(f"dry run: report into {args.out}; arguments checked, nothing fetched, loaded or written")
        return
    resolve_device(args.device)
    lm = load_model(args.model, device=args.device, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
    report = validate(args.out, model=args.model, preset=preset, lm=lm, n_boot=args.n_boot, domains=domains,
                      policies=policies, modes=modes, bos=args.bos, progress=not args.quiet)
    for c in report["checks"]:
        iv = "" if c["interval"] is None else f"[{c['interval'][0]:.3g}, {c['interval'][1]:.3g}]"
        kind = "  (engine check)" if c["kind"] != "evidence" else ""
        print(f"{c['domain']:>8}  {c['claim']:<28} {c['outcome']:<12} {iv}{kind}")
    for flag in report["flags"]:
        print(f"flag: {flag}")
    print(f"report: {Path(args.out) / 'report.md'}, report.html, report.json ({report['seconds']} s)")
    if report["failures"]:
        raise IncompleteRun(report["failures"], Path(args.out) / "measure")


def add_validate(top: argparse._SubParsersAction, fmt: type) -> None:
    from validation.validate import __doc__ as doc

    p = top.add_parser("validate", help="the main job: measure, fit, decide the claims, report",
                       description=doc, epilog=VALIDATE_EXAMPLES, formatter_class=fmt)
    _common_options(p, domains=True)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="32 short prefixes per domain, < 10 min on a CPU (default)")
    size.add_argument("--standard", action="store_true", help="32 prefixes of 1024 tokens, every policy and mode, "
                      "1-1.5 h on 2 cores")
    size.add_argument("--full", action="store_true", help="the paper-scale protocol (a GPU)")
    p.add_argument("--policy", action="append", help="policies (with hyperparameters) instead of the preset's; "
                   "the sliding window is always measured")
    p.add_argument("--mode", help="modes instead of the preset's, comma-separated: recompute, evict, online")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.set_defaults(func=cmd_validate)


ARENA_EXAMPLES = """\
examples (`bash dev.sh arena` runs the first in the kvpress environment):
  wzbounds arena --out arena/                               # the embedded model, where kvpress is installed
  wzbounds arena --quick --out quick/                       # 8 prefixes of 512 tokens per domain, budgets 4..64
  wzbounds arena --press SnapKVPress,TOVAPress --press "AdaKVPress,press=SnapKVPress" --prefixes 8 --out few/
  wzbounds arena --domain ./my-texts/ --prefix-length 512 --budgets 8:256 --out mine/
  wzbounds arena --bos always --out with-sink/              # every context starts with the BOS token: a sink kept by all
  wzbounds arena --quick --carried --out carried/           # summaries carried through decoding too (slow on a CPU)
  wzbounds arena --targets 4 --target-spacing 64 --prefix-length 2304 --out spaced/  # 4 targets per prefix (GPU)
Re-running the same command resumes the measurements and rewrites the reports.
"""


def _press_list(values: list[str] | None) -> tuple[str, ...] | None:
    """Press specs from --press values: "SnapKVPress,TOVAPress" or "AdaKVPress,press=SnapKVPress"
    (a piece with "=" continues the press before it)."""
    if not values:
        return None
    presses: list[str] = []
    for piece in (p.strip() for v in values for p in v.split(",")):
        if not piece:
            continue
        if "=" in piece:
            if not presses:
                raise ValueError(f"--press: {piece!r} is a parameter with no press before it")
            presses[-1] += "," + piece
        else:
            presses.append(piece.removeprefix("kvpress:"))
    return tuple(presses)


def cmd_arena(args: argparse.Namespace) -> None:
    from validation.arena import DOMAINS, QUICK, SIZE, arena, arena_protocol, preflight
    from validation.data.models import load_model, resolve_device
    from validation.errors import IncompleteRun
    from validation.policies.presses import DEFAULT_PRESSES, kvpress_module
    from validation.runs.preflight import check_device

    presses = _press_list(args.press) or DEFAULT_PRESSES
    size = QUICK if args.quick else SIZE
    given = [f"--{k.replace('_', '-')}" for k in size if getattr(args, k) is not None]
    if args.quick and given:
        raise ValueError(f"--quick is a size ({_size(QUICK)}): give --quick or {', '.join(given)}, not both")
    args.prefixes = size["prefixes"] if args.prefixes is None else args.prefixes
    args.prefix_length = size["prefix_length"] if args.prefix_length is None else args.prefix_length
    kvpress_module()  # no kvpress: one clear line before the model loads
    budgets = _budgets(args, size["budgets"])
    domains = tuple(args.domain) if args.domain else DOMAINS
    design = {"carried": args.carried, "targets": args.targets, "target_spacing": args.target_spacing}
    preflight(args.out, model=args.model, domains=domains, presses=presses, prefixes=args.prefixes,
              prefix_length=args.prefix_length, budgets=budgets, dtype=args.dtype, n_boot=args.n_boot, bos=args.bos,
              **design)
    check_device(args.device)
    if args.dry_run:
        protocol = arena_protocol(model=args.model, presses=presses, prefixes=args.prefixes,
                                  prefix_length=args.prefix_length, budgets=budgets, dtype=args.dtype, bos=args.bos,
                                  **design)
        print(f"dry run: {_plan(protocol)} (each of {', '.join(domains)}) into {args.out}; arguments checked, "
              "nothing fetched, loaded or written")
        return
    resolve_device(args.device)
    lm = load_model(args.model, device=args.device, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
    report = arena(args.out, model=args.model, domains=domains,
                   presses=presses, prefixes=args.prefixes, prefix_length=args.prefix_length, budgets=budgets,
                   n_boot=args.n_boot, bos=args.bos, lm=lm, progress=not args.quiet, **design)
    for c in report["contests"]:
        if c["judged"]:
            print(f"{c['domain']:>8}  {c['policy']:<12} {c['mode']:<8} faster_decay {c['faster_decay']['outcome']:<12} "
                  f"less_memory {c['less_memory']['outcome']}")
    print(f"leaderboard: {Path(args.out) / 'leaderboard.md'}; arena: {Path(args.out) / 'arena.md'} "
          f"({report['seconds']} s)")
    if report["failures"]:
        raise IncompleteRun(report["failures"], Path(args.out) / "measure")


def _size(size: dict) -> str:
    budgets = size["budgets"]
    return (f"{size['prefixes']} prefixes of {size['prefix_length']} tokens per domain, "
            f"budgets {budgets[0]}..{budgets[-1]}")


def add_arena(top: argparse._SubParsersAction, fmt: type) -> None:
    from validation.arena import QUICK, SIZE
    from validation.arena import __doc__ as doc

    p = top.add_parser("arena", help="kvpress presses and propagating summaries on one memory axis: the press "
                       "leaderboard and the open-question arena (needs wzbounds[kvpress])",
                       description=doc, epilog=ARENA_EXAMPLES, formatter_class=fmt)
    _common_options(p, domains=True)
    p.add_argument("--press", action="append", help="kvpress presses by class name, comma-separated or repeated, "
                   "with parameters after the name: 'SnapKVPress,window_size=32', 'AdaKVPress,press=SnapKVPress' "
                   "(default: the 14 presses of validation.policies.presses.DEFAULT_PRESSES)")
    _sample_options(p, prefixes=SIZE["prefixes"], prefix_length=SIZE["prefix_length"],
                    budgets=f"{SIZE['budgets'][0]}:{SIZE['budgets'][-1]}", unset=True)
    p.add_argument("--quick", action="store_true", help=f"{_size(QUICK)}: the fewest documents the rules decide "
                   "on, but 1.2 decades of budgets, so faster_decay stays inconclusive")
    p.add_argument("--carried", action="store_true", help="the streaming summaries in online mode too, carried "
                   "through decoding token by token (minutes per 512-token prefix on 2 CPU cores: a GPU job)")
    p.add_argument("--targets", type=int, default=1, help="targets per prefix in the arena part (default 1, the last "
                   "position; the ratios part keeps one): a less noisy curve per document")
    p.add_argument("--target-spacing", type=int, default=1, help="positions between targets, the last at the end of "
                   "the prefix; the first should see at least 4 times the top budget (default 1)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.set_defaults(func=cmd_arena)


EXPORT_EXAMPLES = """\
examples:
  wzbounds export my-results/ --policy sliding --mode recompute --out sliding.csv
  wzbounds export wzbounds-out/ --domain natural --policy sink --mode evict --out sink.csv
  wzbounds compare sliding.csv sink.csv                    # then: does sink evict beat the window's scaling?
  wzbounds export wzbounds-out/ --all --out panels/        # every curve, per domain and part, with the protocol
A measure folder (manifest.json), or a validate / arena output folder (its measure/<domain>/... parts).
"""


def cmd_export(args: argparse.Namespace) -> None:
    from validation.runs.panels import export_curve, export_panels

    if args.all:
        written = export_panels(Path(args.results), args.out, mu=args.mu)
        print(f"{len(written)} curve files, with each part's measurements.parquet and protocol.json -> {args.out}")
        return
    if args.policy is None:
        raise ValueError("choose a curve with --policy (and --mode, --positions), or every curve with --all")
    print(export_curve(args.results, args.out, args.policy, args.mode, args.positions, args.domain, args.part,
                       args.mu))


def add_export(top: argparse._SubParsersAction, fmt: type) -> None:
    p = top.add_parser("export", help="write one policy's measured curves as a CSV for check and compare",
                       description="Write the per-document curves of one policy and mode from a results folder in "
                       "check's CSV format (sample,window,tv,kl), one sample per document (doc@start), with the policy's "
                       "bytes per budget and the budgets where it saturates as comment lines (# memory=, # saturated=),"
                       " so `wzbounds check` and `wzbounds compare` run on every curve the project measures and "
                       "compare decides as the arena does.",
                       epilog=EXPORT_EXAMPLES, formatter_class=fmt)
    p.add_argument("results", help="a measure folder, or a validate / arena output folder")
    p.add_argument("--policy", help="the policy spec as measured, e.g. sliding or sink:n_sink=8")
    p.add_argument("--all", action="store_true", help="every measured curve: --out is then a folder "
                   "(DOMAIN/PART/POLICY_MODE_POSITIONS.csv, measurements.parquet, protocol.json)")
    p.add_argument("--mode", default="recompute", help="recompute (default), evict or online")
    p.add_argument("--positions", default="preserved", help="preserved (default) or reindexed")
    p.add_argument("--domain", help="the domain, for a validate / arena output holding several")
    p.add_argument("--part", help="the part (validate: main, online; arena: arena, ratios), where a curve is "
                   "measured in several")
    p.add_argument("--mu", type=float, default=0.1, help="which KL_mu column to export as kl (default 0.1)")
    p.add_argument("--out", required=True, help="the CSV file to write (with --all: the folder)")
    p.set_defaults(func=cmd_export)
