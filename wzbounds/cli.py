"""The `wzbounds` command.

    wzbounds bound window      window, Theta band and memory for target distortions
    wzbounds bound distortion  guaranteed and unavoidable distortion at given windows
    wzbounds bound band        the Theta band, its closed form and its memory ends
    wzbounds bound blockmarkov block-Markov against the sliding window
    wzbounds bound exponents   which hypotheses make the exponents meet
    wzbounds synth SOURCE      a synthetic source: exact curves, fits, assumption verdicts
    wzbounds check CURVES.csv  the assumption checker on your own measured curves
    wzbounds compare REF.csv CONTENDER.csv  does a contender beat the reference's scaling
    wzbounds rd KIND ...       rate-distortion: R(D), Wyner-Ziv, sequential Wyner-Ziv
    wzbounds measure / validate  real language models (the validation extra)

Every subcommand prints a readable table, or JSON with --json. Bad input
exits with status 2 and one line naming the problem.

`wzbounds` and `python -m wzbounds` are this one program. The real-model
commands are plugins: packages register a function `add(subparsers, formatter)`
under the entry-point group "wzbounds.commands" (validation registers
`measure`, `validate` and `arena`). The wzbounds package has no import of
validation in its code: the command loads whatever plugins are installed
through their entry points at run time, so with the validation extra
installed `wzbounds --help` does import validation's command module.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from wzbounds import blockmarkov
from wzbounds.grids import parse_grid, parse_whole_grid
from wzbounds.output import CliError, OneLineParser, emit, rows_of
from wzbounds.cli_compare import add_commands as add_compare_commands
from wzbounds.cli_rd import add_commands as add_rd_commands
from wzbounds.cli_synth import add_commands
from wzbounds.bounds import SUFFIX_ONLY, WindowBound, exponents, sliding_window_kl, sliding_window_tv
from wzbounds.memory import GEOMETRIES, KVGeometry, cache_memory, geometry

EXAMPLES = """\
examples:
  wzbounds bound window --alpha 0.44 --C 1 --eps 1e-3 --json
  wzbounds bound window --alpha 0.44 --C 1 --c 0.5 --eps 1e-1:1e-4:13 --model smollm2-135m
  wzbounds bound window --distortion kl --alpha 0.44 --C 1 --V 49152 --mu 0.1 --R 1.6 --eps 1e-2
  wzbounds bound distortion --alpha 0.44 --C 1 --c 0.5 --window 64,256,1024
  wzbounds bound band --alpha 0.38 --C 1 --c 0.4 --eps 1e-1:1e-3:5 --layers 24 --kv-heads 2 --head-dim 64
  wzbounds bound band --alpha 0.5 --C 1 --c 0.5 --eps 1e-2:1e-4:3 --model gemma-3-270m --dtype float32
  wzbounds bound blockmarkov --alpha 0.44 --b 16,256,4096
  wzbounds bound exponents --alpha 0.44 --reg --fd
  wzbounds bound exponents --alpha 0.44 --reg --beta-mu 0.88 --beta-tv 0.44
"""


DEFAULT_MODEL = "smollm2-135m"


def _kv(args: argparse.Namespace) -> KVGeometry:
    """The KV geometry from --layers/--kv-heads/--head-dim, else --model (default: the embedded model)."""
    given = [args.layers, args.kv_heads, args.head_dim]
    if all(v is None for v in given):
        if args.sliding_window is not None or args.sliding_layers is not None:
            raise CliError("--sliding-window and --sliding-layers go with --layers/--kv-heads/--head-dim "
                           "(a known --model brings its own layout)")
        return geometry(args.model or DEFAULT_MODEL, args.dtype)
    if args.model is not None:
        raise CliError("give either --model or --layers/--kv-heads/--head-dim, not both")
    if any(v is None for v in given):
        raise CliError("--layers, --kv-heads and --head-dim go together")
    if (args.sliding_window is None) != (args.sliding_layers is None):
        raise CliError("--sliding-window and --sliding-layers go together")
    if args.sliding_window is None:
        return KVGeometry.with_dtype(args.layers, args.kv_heads, args.head_dim, args.dtype)
    return KVGeometry.sliding(args.layers, args.kv_heads, args.head_dim, args.dtype, window=args.sliding_window,
                              sliding_layers=args.sliding_layers)


def _bound(args: argparse.Namespace) -> WindowBound:
    if args.distortion == "tv":
        if args.R is not None or args.mu is not None:
            raise CliError("--R and --mu apply to --distortion kl only")
        return sliding_window_tv(args.C, args.alpha, c_B=args.c, beta=args.beta, w0=args.w0)
    if args.V is None or args.mu is None:
        raise CliError("--distortion kl needs --V (vocabulary size) and --mu (smoothing)")
    return sliding_window_kl(
        args.C, args.alpha, V=args.V, mu=args.mu, R=args.R, c_B=args.c, beta=args.beta, w0=args.w0
    )


def _params(args: argparse.Namespace, kv: KVGeometry) -> dict[str, Any]:
    keys = ("distortion", "alpha", "C", "c", "beta", "w0", "V", "mu", "R", "entropy_rate")
    out = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    out["kv_geometry"] = kv.name or kv.describe()
    out["kv_bytes_per_token"] = kv.bytes_per_token
    return out


def _notes(args: argparse.Namespace, bound: WindowBound) -> list[str]:
    """Which hypothesis gives each end; how to get a converse when there is none."""
    notes = bound.describe()
    if bound.converse is None:
        gap = "Delta_TV(w) >= c_B w^-beta" if bound.distortion == "tv" else "Delta_mu(w) >= c_B w^-beta"
        notes.append(f"for a lower end give --c (and --beta): the Bayes-risk gap's lower law {gap}")
    return notes


def _whole(x: np.ndarray) -> list[int | None]:
    """Whole-token windows as ints (None where a window overflows float64)."""
    return [int(v) if np.isfinite(v) else None for v in np.atleast_1d(x)]


def _memory_columns(prefix: str, window: np.ndarray, args: argparse.Namespace, kv: KVGeometry) -> dict[str, np.ndarray]:
    mem = cache_memory(window, V=args.V, entropy_rate=args.entropy_rate, kv=kv)
    cols: dict[str, np.ndarray] = {}
    if mem.raw_bits is not None:
        cols[f"{prefix}raw_bits"] = mem.raw_bits
    if mem.coded_bits is not None:
        cols[f"{prefix}coded_bits"] = mem.coded_bits
    if mem.kv_gib is not None:
        cols[f"{prefix}kv_gib"] = mem.kv_gib
    return cols


def cmd_window(args: argparse.Namespace) -> None:
    bound, kv = _bound(args), _kv(args)
    eps = parse_grid("eps", args.eps)
    window = bound.achievable_window(eps)
    cols: dict[str, Any] = {
        "eps": eps,
        "window": _whole(window),
        "band_upper": _whole(window),
    }
    notes = _notes(args, bound)
    if bound.converse is not None:
        cols["band_lower"] = bound.converse_window(eps)
        lo = bound.converse
        if lo.w0 > 1 and (lo.real_window(eps) < lo.w0).any():
            notes.append(f"band_lower = 1 where (c/eps)^(1/beta) < w0 = {lo.w0:g}: the lower law holds from w0 on "
                         "and excludes no window there")
    cols.update(_memory_columns("", window, args, kv))
    emit(args, "bound window", _params(args, kv), rows_of(cols), notes)


def cmd_distortion(args: argparse.Namespace) -> None:
    bound, kv = _bound(args), _kv(args)
    window = parse_whole_grid("window", args.window).astype(np.float64)
    upper, lower = bound.distortion_at(window)
    cols: dict[str, Any] = {"window": _whole(window), "guaranteed": upper}
    notes = ["guaranteed: the sliding window's distortion is at most this"]
    if lower is not None:
        cols["unavoidable"] = lower
        notes.append("unavoidable: every suffix-only policy of this window has at least this")
    if (window < bound.achievability.w0).any():
        notes.append(f"windows below w0 = {bound.achievability.w0:g}: PTS guarantees nothing there (-)"
                     + ("; the unavoidable distortion is the lower law at w0 (the Bayes-risk gap never grows with w)"
                        if lower is not None else ""))
    cols.update(_memory_columns("", window, args, kv))
    notes += _notes(args, bound)
    emit(args, "bound distortion", _params(args, kv), rows_of(cols), notes)


def cmd_band(args: argparse.Namespace) -> None:
    bound, kv = _bound(args), _kv(args)
    if bound.converse is None:
        raise CliError("the band needs a converse: give --c, the Bayes-risk gap's lower constant "
                       "(and --beta for --distortion kl)")
    band = bound.band(parse_grid("eps", args.eps))
    cols: dict[str, Any] = {"eps": band.eps, "lower": band.lower, "upper": _whole(band.upper), "ratio": band.ratio}
    cols.update(_memory_columns("lower_", band.lower, args, kv))
    cols.update(_memory_columns("upper_", band.upper, args, kv))
    up, lo = bound.achievability, bound.converse
    notes = [f"band: ({lo.C:g}/eps)^(1/{lo.alpha:g}) <= w*(eps) <= ceil(({up.C:g}/eps)^(1/{up.alpha:g}))"]
    notes += _notes(args, bound)
    if bound.distortion == "tv" and np.isclose(lo.alpha, up.alpha, rtol=1e-12, atol=0.0):
        from wzbounds import symbolic

        notes.append(f"closed form of the ratio upper/lower: {symbolic.band_ratio_tv}")
    emit(args, "bound band", _params(args, kv), rows_of(cols), notes)


def cmd_blockmarkov(args: argparse.Namespace) -> None:
    if (args.b is None) == (args.eps is None):
        raise CliError("give exactly one of --b (block lengths) or --eps (target average distortion)")
    if args.b is not None:
        b = parse_whole_grid("b", args.b)
    else:
        b = blockmarkov.block_length(parse_grid("eps", args.eps), args.C, args.alpha)
    cmp = blockmarkov.compare_with_sliding(args.alpha, b, args.C)
    log_worst = np.log10(args.C) - args.alpha * np.log10(cmp.b.astype(float))
    cols: dict[str, Any] = {
        "b": cmp.b,
        "average": cmp.average,
        "log10_average": log_worst + np.log10(blockmarkov.normalised_average(args.alpha, cmp.b)),
        "limit": blockmarkov.limit_average(args.C, args.alpha, cmp.b),
        "log10_limit": log_worst + np.log10(blockmarkov.kappa(args.alpha)),
        "worst_step": args.C * cmp.b.astype(float) ** -args.alpha,
        "log10_worst_step": log_worst,
        "peak_tokens": blockmarkov.peak_memory(cmp.b),
        "mean_tokens": blockmarkov.mean_memory(cmp.b),
        "sliding_window": cmp.sliding_window,
        "peak_ratio": cmp.peak_ratio,
        "mean_ratio": cmp.mean_ratio,
    }
    notes = [
        f"kappa({args.alpha:g}) = {float(blockmarkov.kappa(args.alpha)):.10g}",
        f"peak ratio limit 2 kappa^(1/alpha) = {float(cmp.peak_ratio_limit[0]):.6g}, "
        f"mean ratio limit 1.5 kappa^(1/alpha) = {float(cmp.mean_ratio_limit[0]):.6g}",
    ]
    emit(args, "bound blockmarkov", {"alpha": args.alpha, "C": args.C}, rows_of(cols), notes)


def cmd_exponents(args: argparse.Namespace) -> None:
    table = exponents(args.alpha, reg=args.reg, fd=args.fd, beta_tv=args.beta_tv, beta_mu=args.beta_mu,
                      beta=args.beta)
    rows = [{"distortion": r.distortion, "achievable": r.achievable, "achievable_from": r.achievable_from,
             "converse": r.converse, "converse_from": r.converse_from, "matched": r.matched,
             "gap_factor": r.gap_factor} for r in table.rows]
    params = {"alpha": args.alpha, "reg": args.reg, "fd": args.fd, "beta_tv": args.beta_tv,
              "beta_mu": args.beta_mu, "beta": args.beta}
    notes = [r.reason for r in table.rows]
    notes.append(f"converses hold for policies where {SUFFIX_ONLY}")
    emit(args, "bound exponents", params, rows, notes)


def _law_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the decay law (PTS and BR)")
    g.add_argument("--alpha", type=float, required=True, help="TV decay exponent alpha > 0 (PTS)")
    g.add_argument("--C", type=float, default=1.0, help="PTS constant: delta(w) <= C w^-alpha (default 1)")
    g.add_argument(
        "--c", type=float, help="Bayes-risk lower constant c_B of the gap in the same distortion: Delta_TV(w) >= "
        "c_B w^-beta (TV) or Delta_mu(w) >= c_B w^-beta (KL_mu); without it there is no converse"
    )
    g.add_argument("--beta", type=float, help="Bayes-risk exponent of that gap (TV default: alpha; required for KL)")
    g.add_argument("--w0", type=float, default=1.0, help="smallest window where the law holds (default 1)")
    g.add_argument("--distortion", choices=("tv", "kl"), default="tv", help="TV (default) or smoothed KL_mu")
    g.add_argument("--V", type=int, help="vocabulary size (KL constant; raw bits)")
    g.add_argument("--mu", type=float, help="KL smoothing mu in (0, 1)")
    g.add_argument("--R", type=float, help="REG constant R >= 1: E TV^2 <= R (E TV)^2 (KL exponent 2 alpha)")
    m = p.add_argument_group("memory")
    m.add_argument(
        "--model", choices=sorted(GEOMETRIES), help=f"a known model's KV-cache geometry (default {DEFAULT_MODEL})"
    )
    m.add_argument("--layers", type=int, help="KV geometry: number of layers")
    m.add_argument("--kv-heads", type=int, help="KV geometry: key/value heads per layer")
    m.add_argument("--head-dim", type=int, help="KV geometry: head dimension")
    m.add_argument("--sliding-window", type=int, help="KV geometry: the sliding window of the sliding-window layers "
                   "(positions); with --sliding-layers")
    m.add_argument("--sliding-layers", type=int, help="KV geometry: how many layers slide (they hold at most "
                   "--sliding-window entries; the others the whole window)")
    m.add_argument("--dtype", default="bfloat16", help="KV cache dtype (default bfloat16)")
    m.add_argument("--entropy-rate", type=float, help="bits per token for entropy-coded memory")


def _version() -> str:
    """The installed distribution's version (the source tree's pyproject when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wzbounds")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = OneLineParser(prog="wzbounds", description=__doc__, epilog=EXAMPLES, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"wzbounds {_version()}")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bound = top.add_parser("bound", help="evaluate the bounds", description=__doc__, epilog=EXAMPLES, formatter_class=fmt)
    sub = bound.add_subparsers(dest="question", required=True, metavar="QUESTION")

    def add(name: str, helptext: str, func: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext, epilog=EXAMPLES, formatter_class=fmt)
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")
        p.set_defaults(func=func)
        return p

    p = add("window", "window, Theta band and memory for target distortions eps", cmd_window)
    _law_options(p)
    p.add_argument("--eps", required=True, help="target(s): 1e-3, a list 1e-2,1e-3, or START:STOP:N log-spaced")
    p = add("distortion", "guaranteed and unavoidable distortion at given windows", cmd_distortion)
    _law_options(p)
    p.add_argument("--window", required=True, help="window(s) in tokens: 256, a list, or START:STOP:N")
    p = add("band", "the Theta band with its memory at both ends", cmd_band)
    _law_options(p)
    p.add_argument("--eps", required=True, help="target(s): a value, a list, or START:STOP:N")
    p = add("blockmarkov", "block-Markov scheme against the sliding window", cmd_blockmarkov)
    p.add_argument("--alpha", type=float, required=True, help="decay exponent alpha > 0")
    p.add_argument("--C", type=float, default=1.0, help="PTS constant (default 1)")
    p.add_argument("--b", help="block length(s): 64, a list, or START:STOP:N")
    p.add_argument("--eps", help="target average distortion(s): gives the shortest block reaching each")
    p = add("exponents", "which hypotheses make achievability and converse meet", cmd_exponents)
    p.add_argument("--alpha", type=float, required=True, help="TV exponent alpha > 0")
    p.add_argument("--beta-tv", type=float, help="exponent of a lower law for Delta_TV (BR in TV): a TV converse")
    p.add_argument("--beta-mu", type=float,
                   help="exponent of a lower law for the smoothed gap Delta_mu (BR in KL_mu): a KL_mu converse")
    p.add_argument("--beta", type=float,
                   help="exponent of a lower law for the unsmoothed gap Delta (BR in KL): a KL converse only")
    p.add_argument("--reg", action="store_true", help="assume REG: E TV^2 <= R (E TV)^2")
    p.add_argument("--fd", action="store_true", help="assume FD: delta(w) <= K Delta_TV(w)")
    add_commands(top, fmt)
    add_compare_commands(top, fmt)
    add_rd_commands(top, fmt)
    _add_plugin_commands(top, fmt)
    return parser


PLUGIN_GROUP = "wzbounds.commands"


def _add_plugin_commands(top: argparse._SubParsersAction, fmt: type) -> None:
    """Subcommands registered by installed packages under the entry-point group `PLUGIN_GROUP`."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            add = ep.load()
        except ImportError:  # a plugin whose package is broken or half-installed: its command is absent
            continue
        add(top, fmt)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line a user can act on, without the source location."""
    print(f"wzbounds: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args.func(args)
    except (ValueError, CliError) as exc:
        print(f"wzbounds: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk fault the command did not foresee: still one line, naming the file
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"wzbounds: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # a real-model command without the validation extra
        print(f"wzbounds: error: {exc.name} is not installed; install the validation extra "
              "(pip install 'wzbounds[validation]', or run through dev.sh)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wzbounds: interrupted; finished work is saved, re-run the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
