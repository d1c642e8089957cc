"""`wzbounds synth` and `wzbounds check`: synthetic sources and the assumption checker.

    wzbounds synth SOURCE [source parameters] --windows GRID [--samples N] [--json] [--plot FILE]
    wzbounds check CURVES.csv [--mu MU] [--json] [--plot FILE]
"""

from __future__ import annotations

import argparse
import inspect
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from wzbounds.grids import parse_grid, parse_whole_grid
from wzbounds.output import CliError, jsonable
from wzbounds.assumptions import AssumptionReport, check_assumptions
from wzbounds.curves import Curves, read_csv
from wzbounds.fit import compare_laws, exponent_interval, plot_fits
from wzbounds.ranges import local_slopes, range_exponents
from wzbounds.sources import SOURCES, ExactCurves, make_source

SYNTH_EXAMPLES = """\
examples:
  wzbounds synth arfima --d 0.3 --windows 1,2,4,8,16,32,64,128,256,512,1024 --json
  wzbounds synth power-pacf --c 0.5 --eta 0.8 --windows 1:4096:13 --plot pacf.png
  wzbounds synth copy --V 50000 --lam 0.5 --alpha 0.5 --windows 1:512:10 --samples 100
  wzbounds synth markov-hmm --windows 1,2,3,4,6,8,12,16
"""

CHECK_EXAMPLES = """\
CURVES.csv holds one row per (sample, window):
  sample,window,tv[,kl][,bayes_kl][,bayes_kl_mu][,bayes_tv]
with every sample measured at every window; a first line '# mu=0.1' (or
--mu) gives the smoothing of the kl column.

examples:
  wzbounds check curves.csv
  wzbounds check curves.csv --mu 0.1 --eps 1e-2,1e-3 --json --plot check.png
"""


def _scalar_parameters(cls: type) -> dict[str, Any]:
    """The source's scalar constructor parameters and their defaults."""
    out = {}
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name != "self" and isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
            out[name] = p.default
    required = [n for n, p in inspect.signature(cls.__init__).parameters.items()
                if n != "self" and p.default is inspect.Parameter.empty]
    out.update({n: None for n in required})
    return out


def add_source_parameters(p: argparse.ArgumentParser, cls: type) -> None:
    """One option --NAME per scalar constructor parameter of the source class."""
    for param, default in _scalar_parameters(cls).items():
        kind = type(default) if default is not None else float
        p.add_argument(f"--{param}", type=kind, default=default,
                       help=f"source parameter (default {default})" if default is not None else "source parameter (required)")


def source_from_args(args: argparse.Namespace, name: str) -> Any:
    """The source `name` built from its parsed options; CliError naming any that is missing."""
    params = {k: getattr(args, k) for k in _scalar_parameters(SOURCES[name])}
    missing = [k for k, v in params.items() if v is None]
    if missing:
        raise CliError(f"source {name} needs --{' --'.join(missing)}")
    return make_source(name, **params)


def _curve_fits(curves: Curves, n_boot: int, seed: int, fit_range: tuple[float, float]) -> dict[str, Any]:
    """Each curve's exponent on the report's fit range (the text's alpha), and the power and
    geometric laws fitted on every window for the extrapolation comparison."""
    fits = {}
    for name in curves.available():
        mean = curves.mean(name)
        if np.all(mean > 0):
            law = compare_laws(curves.windows, mean)
            iv = exponent_interval(curves, name, n_boot=n_boot, seed=seed, fit_range=fit_range)
            keep = (curves.windows >= fit_range[0]) & (curves.windows <= fit_range[1])
            C = float(np.exp(np.mean(np.log(mean[keep]) + iv.estimate * np.log(curves.windows[keep]))))
            fits[name] = {"fit_range": fit_range, "C": C, "exponent": iv.estimate, "low": iv.low, "high": iv.high,
                          "level": iv.level, "whole_range_power": {"C": law.power.C, "exponent": law.power.alpha},
                          "log_rmse_power": law.power.log_rmse, "log_rmse_geometric": law.geometric.log_rmse,
                          "verdict": law.verdict}
    return fits


def _plot(path: str, curves: Curves, report: AssumptionReport, title: str, exact: ExactCurves | None = None, *,
          n_boot: int = 1000, seed: int = 0) -> None:
    """The figure of `report`: each panel draws the fit and the interval the text reports (the
    report's fit range, resamples and seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ("kl", "bayes_kl") if n in curves.available() and np.all(curves.mean(n) > 0)]
    fig, axes = plt.subplots(1, 1 + bool(names), figsize=(6.5 * (1 + bool(names)), 4.6), squeeze=False)
    plot_fits(curves.windows, report.delta, comparison=report.tv_law, interval=report.alpha,
              fit_range=report.fit_range, label="E TV (mean over samples)", ax=axes[0, 0])
    if exact is not None and exact.delta is not None:
        axes[0, 0].loglog(exact.windows, exact.delta, color="grey", lw=2, alpha=0.6, zorder=0, label="exact E TV")
        axes[0, 0].legend(fontsize=8)
    axes[0, 0].set_ylabel("delta(w) = E TV")
    axes[0, 0].set_title(f"{title}: TV")
    if names:
        name = names[0]
        iv = exponent_interval(curves, name, n_boot=n_boot, seed=seed, fit_range=report.fit_range)
        label = "kappa_mu = E KL_mu" if name == "kl" else "Delta = E KL(p || pbar)"
        plot_fits(curves.windows, curves.mean(name), interval=iv, fit_range=report.fit_range, label=label,
                  ax=axes[0, 1])
        if exact is not None and exact.Delta is not None and name == "bayes_kl":
            axes[0, 1].loglog(exact.windows, exact.Delta, color="grey", lw=2, alpha=0.6, zorder=0, label="exact Delta")
            axes[0, 1].legend(fontsize=8)
        axes[0, 1].set_ylabel(f"{label} (nats)")
        axes[0, 1].set_title(f"{title}: KL")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise CliError(f"cannot write the plot to {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)


def _ranges(curves: Curves, args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    """alpha_TV on every sub-range of at least one decade, and the local slopes, with intervals."""
    boot = {"n_boot": args.n_boot, "seed": args.seed}
    return {"fit_ranges": [r.to_dict() for r in range_exponents(curves, **boot)],
            "local_slopes": [r.to_dict() for r in local_slopes(curves, **boot)]}


def _print(args: argparse.Namespace, payload: dict[str, Any], report: AssumptionReport, head: list[str]) -> None:
    if args.json:
        print(json.dumps(jsonable(payload), indent=2))
        return
    print("\n".join(head))
    print(report.to_text())
    rows = payload["alpha_by_range"]
    if rows["fit_ranges"] or rows["local_slopes"]:
        print("alpha_TV by fit range (every sub-range of at least one decade), then local slopes:")
        for kind, items in (("fit", rows["fit_ranges"]), ("local", rows["local_slopes"])):
            for r in items:
                print(f"  {kind:>5} {r['from']:g}..{r['to']:g}: {r['estimate']:.4f} [{r['low']:.4f}, {r['high']:.4f}]")


def cmd_synth(args: argparse.Namespace) -> None:
    source = source_from_args(args, args.source)
    windows = parse_whole_grid("windows", args.windows).astype(np.float64)
    rng = np.random.default_rng(args.seed)
    kwargs = {"mu": args.mu} if "mu" in inspect.signature(source.sample_curves).parameters else {}
    curves = source.sample_curves(windows, args.samples, rng, **kwargs)
    exact = source.exact_curves(windows)
    eps = parse_grid("eps", args.eps)
    report = check_assumptions(curves, eps=eps, n_boot=args.n_boot, seed=args.seed)
    payload = {
        "source": args.source, "parameters": source.parameters, "truth": asdict(source.truth),
        "samples": args.samples, "seed": args.seed, "windows": windows,
        "exact": {"delta": exact.delta, "Delta": exact.Delta, "Delta_TV": exact.Delta_TV, "R": exact.reg_ratio},
        "sampled_means": {n: curves.mean(n) for n in curves.available()},
        "fits": _curve_fits(curves, args.n_boot, args.seed, report.fit_range),
        "alpha_by_range": _ranges(curves, args),
        "assumptions": report.to_dict(),
    }
    head = [f"source {args.source} {source.parameters}", f"truth: {source.truth.law} law; {source.truth.notes}"]
    if exact.delta is not None:
        head.append(f"{'window':>8} {'E TV (exact)':>14} {'Delta (exact)':>14} {'R':>7}")
        head += [f"{w:8g} {d:14.6g} {g:14.6g} {r:7.4f}" for w, d, g, r in zip(windows, exact.delta, exact.Delta, exact.reg_ratio)]
    head += [f"fit {n}: exponent {f['exponent']:.4f} [{f['low']:.4f}, {f['high']:.4f}]" for n, f in payload["fits"].items()]
    if args.plot:
        _plot(args.plot, curves, report, args.source, exact, n_boot=args.n_boot, seed=args.seed)
    _print(args, payload, report, head)


def cmd_check(args: argparse.Namespace) -> None:
    curves = read_csv(args.curves, mu=args.mu)
    report = check_assumptions(curves, eps=parse_grid("eps", args.eps), n_boot=args.n_boot, seed=args.seed)
    if args.plot:
        _plot(args.plot, curves, report, Path(args.curves).name, n_boot=args.n_boot, seed=args.seed)
    payload = {"file": args.curves, "fits": _curve_fits(curves, args.n_boot, args.seed, report.fit_range),
               "alpha_by_range": _ranges(curves, args), "assumptions": report.to_dict()}
    _print(args, payload, report, [f"curves from {args.curves}: {', '.join(curves.available())}"])


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eps", default="1e-2,1e-3", help="TV targets for the windows the bounds give (default 1e-2,1e-3)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--plot", metavar="FILE", help="write a PNG figure of the curves and fits")


def add_commands(top: argparse._SubParsersAction, fmt: type) -> None:
    """Register `synth` and `check` on the top-level parser."""
    synth = top.add_parser("synth", help="synthetic sources: exact curves, fits, assumption verdicts",
                           description=__doc__, epilog=SYNTH_EXAMPLES, formatter_class=fmt)
    sources = synth.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, cls in SOURCES.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        p = sources.add_parser(name, help=doc, description=cls.__doc__, epilog=SYNTH_EXAMPLES, formatter_class=fmt)
        add_source_parameters(p, cls)
        p.add_argument("--windows", required=True, help="window grid: a list 1,2,4 or START:STOP:N (log-spaced)")
        p.add_argument("--samples", type=int, default=200, help="samples (paths) drawn (default 200)")
        p.add_argument("--mu", type=float, default=0.1, help="KL smoothing for discrete sources (default 0.1)")
        _common(p)
        p.set_defaults(func=cmd_synth)
    check = top.add_parser("check", help="run the assumption checker on your own curves (CSV)",
                           description=__doc__, epilog=CHECK_EXAMPLES, formatter_class=fmt)
    check.add_argument("curves", help="CSV file: sample,window,tv[,kl][,bayes_kl][,bayes_kl_mu][,bayes_tv]")
    check.add_argument("--mu", type=float, help="KL smoothing of the kl column (or '# mu=...' in the file)")
    _common(check)
    check.set_defaults(func=cmd_check)
