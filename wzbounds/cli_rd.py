"""`wzbounds rd`: rate-distortion computations from the command line.

    wzbounds rd rate-distortion --px LAW [--d MATRIX] --D GRID
    wzbounds rd wyner-ziv dsbs --p P --D GRID            R_WZ, R_X|Y and the closed form
    wzbounds rd wyner-ziv joint --pxy MATRIX [--d MATRIX] --D GRID
    wzbounds rd wyner-ziv gaussian --variance V --rho RHO --D GRID [--discretise STEP]
    wzbounds rd sequential SOURCE [source parameters] --eps GRID

Distortion grids are linear ('0:0.25:26' is 26 evenly spaced values); eps
grids are log-spaced. Rates are in nats. Matrices are rows separated by ';'.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wzbounds.grids import parse_grid
from wzbounds.output import CliError, emit, rows_of
from wzbounds.cli_synth import add_source_parameters, source_from_args
from wzbounds.ratedistortion import (binary_entropy, conditional_rates, dsbs, dsbs_wyner_ziv, gaussian_sequential,
                                     gaussian_wyner_ziv, hamming, rd_rates, wyner_ziv_rates)
from wzbounds.ratedistortion.gaussian import discretised_gaussian_wyner_ziv
from wzbounds.ratedistortion.sequential import hmm_sequential
from wzbounds.sources import SOURCES, PACFGaussian, RenewalHMM

RD_EXAMPLES = """\
examples:
  wzbounds rd wyner-ziv dsbs --p 0.25 --D 0.1 --json
  wzbounds rd wyner-ziv dsbs --p 0.25 --D 0:0.25:26
  wzbounds rd wyner-ziv joint --pxy "0.3,0.1;0.05,0.55" --D 0:0.3:7
  wzbounds rd wyner-ziv gaussian --variance 1 --rho 0.8 --D 0.05,0.1,0.2
  wzbounds rd wyner-ziv gaussian --rho 0.8 --D 0.12 --discretise 0.2 --side-step 0.5
  wzbounds rd rate-distortion --px 0.2,0.3,0.5 --D 0:0.6:7
  wzbounds rd sequential arfima --d 0.3 --eps 1e-3:1e-7:5
  wzbounds rd sequential markov-hmm --eps 1e-2:1e-5:4 --samples 200
"""

SEQUENTIAL_SOURCES = {n: c for n, c in SOURCES.items() if issubclass(c, (PACFGaussian, RenewalHMM))}


def parse_matrix(name: str, spec: str) -> NDArray[np.float64]:
    """'a,b;c,d' -> [[a, b], [c, d]]; ValueError naming the option on anything malformed."""
    try:
        rows = [[float(v) for v in row.split(",")] for row in spec.strip().split(";")]
        matrix = np.array(rows, dtype=np.float64)
    except ValueError:
        raise ValueError(f"--{name} {spec!r} is not a matrix; write rows of numbers as 'a,b;c,d'") from None
    if matrix.ndim != 2:
        raise ValueError(f"--{name} {spec!r}: every row needs the same number of entries")
    return matrix


def _distortion(args: argparse.Namespace, n_x: int) -> NDArray[np.float64]:
    return hamming(n_x) if args.d is None else parse_matrix("d", args.d)


def _grid_D(args: argparse.Namespace) -> NDArray[np.float64]:
    return parse_grid("D", args.D, linear=True)


def cmd_rate_distortion(args: argparse.Namespace) -> None:
    px = parse_grid("px", args.px)
    out = rd_rates(px, _distortion(args, px.size), _grid_D(args), tol=args.tol)
    rows = rows_of({"D": out.distortion, "R": out.rate, "R_gap": out.gap, "slope": out.slope})
    emit(args, "rate-distortion R(D) (nats)", {"px": px.tolist(), "tol": args.tol}, rows,
         [f"D_min = {out.d_min:.6g}, R = 0 from D_max = {out.d_max:.6g}; R_gap is certified"])


def _side_info_rows(pxy: NDArray[np.float64], d: NDArray[np.float64], D: NDArray[np.float64], tol: float,
                    extra: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    wz = wyner_ziv_rates(pxy, d, D, tol=tol)
    cond = conditional_rates(pxy, d, D, tol=tol)
    rows = rows_of({"D": D, "R_WZ": wz.rate, "R_WZ_gap": wz.gap, "R_XgY": cond.rate, "R_XgY_gap": cond.gap,
                    "certified": wz.certified, **extra})
    notes = [f"R_WZ = R_X|Y = 0 from D_max = {wz.d_max:.6g}; D_min = {wz.d_min:.6g}",
             "R_WZ: side information Y at the decoder only; R_XgY: at both ends"]
    if not wz.certified.all():
        notes.append("certified = False: the R_WZ gap there is the solver's estimate, not a proof")
    return rows, notes


def cmd_wz_dsbs(args: argparse.Namespace) -> None:
    D = _grid_D(args)
    closed = {"R_WZ_closed": dsbs_wyner_ziv(args.p, D),
              "h(p)-h(D)": np.where(D < args.p, binary_entropy(args.p) - binary_entropy(np.minimum(D, args.p)), 0.0)}
    rows, notes = _side_info_rows(dsbs(args.p), hamming(2), D, args.tol, closed)
    emit(args, "Wyner-Ziv, doubly symmetric binary source, Hamming distortion (nats)", {"p": args.p, "tol": args.tol},
         rows, notes)


def cmd_wz_joint(args: argparse.Namespace) -> None:
    pxy = parse_matrix("pxy", args.pxy)
    rows, notes = _side_info_rows(pxy, _distortion(args, pxy.shape[0]), _grid_D(args), args.tol, {})
    emit(args, "Wyner-Ziv, discrete source (nats)", {"pxy": pxy.tolist(), "tol": args.tol}, rows, notes)


def cmd_wz_gaussian(args: argparse.Namespace) -> None:
    if not args.variance > 0 or not -1 < args.rho < 1:
        raise CliError("--variance must be > 0 and --rho in (-1, 1)")
    D = _grid_D(args)
    if np.any(D <= 0):
        raise CliError("--D must be > 0 for a Gaussian source (R -> infinity as D -> 0)")
    rate = gaussian_wyner_ziv(args.variance, args.rho, D)
    notes = ["closed form: max(0, 1/2 log(variance (1 - rho^2) / D))"]
    columns: dict[str, Any] = {"D": D, "R_WZ": rate, "R_XgY": rate}
    if args.discretise is not None:
        out = discretised_gaussian_wyner_ziv(args.variance, args.rho, D, step=args.discretise,
                                             side_step=args.side_step, tol=args.tol)
        columns = {"D": D, "closed_form": rate, "R_WZ_discrete": out.wyner_ziv.rate,
                   "R_XgY_discrete": out.conditional.rate, "bound_lower": out.bound_lower,
                   "bound_upper": out.bound_upper, "reproduced": out.reproduced}
        g = out.grid
        notes += [f"discretised: {g.pxy.shape[0]} x cells, {g.pxy.shape[1]} y cells, "
                  f"quantisation error e = {g.quantisation_error:.4g}, v = E Var(X_q|Y_q) = {g.conditional_variance:.4g}, "
                  f"reconstruction step h = {g.reconstruction_step:.4g}",
                  "bound_lower <= R_XgY_discrete <= R_WZ_discrete <= bound_upper must hold (the stated "
                  "discretisation error); reproduced: they do, and the closed form lies in the bracket too"]
    emit(args, "Wyner-Ziv, jointly Gaussian, squared error (nats)", {"variance": args.variance, "rho": args.rho},
         rows_of(columns), notes)


def cmd_sequential(args: argparse.Namespace) -> None:
    source = source_from_args(args, args.source)
    eps = parse_grid("eps", args.eps)
    if isinstance(source, PACFGaussian):
        out = gaussian_sequential(source, eps, side_window=args.side_window)
        rows = rows_of({"eps": out.eps, "window": out.window, "optimal_rate": out.rate})
        notes = ["window: the suffix-only window (tokens) with excess log loss <= eps",
                 f"optimal_rate: the one-step Wyner-Ziv rate (nats) with the last {out.side_window} values "
                 "at the decoder; the predictor, quantised, reaches it"]
    else:
        out = hmm_sequential(source, eps, samples=args.samples, seed=args.seed)
        rows = rows_of({"eps": out.eps, "window": out.window, "window_memory": out.window_memory,
                        "state_step": out.step, "summary_memory": out.summary_memory})
        notes = [f"measured on {out.samples} paths; window: smallest power of two reaching eps (nan: none does)",
                 "window_memory = window * log V, summary_memory = (M - 1) log(1/step): nats"]
    emit(args, f"sequential Wyner-Ziv on {args.source}", {**source.parameters}, rows, notes)


def add_commands(top: argparse._SubParsersAction, fmt: type) -> None:
    """Register `rd` on the top-level parser."""
    rd = top.add_parser("rd", help="rate-distortion: R(D), Wyner-Ziv, sequential Wyner-Ziv",
                        description=__doc__, epilog=RD_EXAMPLES, formatter_class=fmt)
    kinds = rd.add_subparsers(dest="kind", required=True, metavar="KIND")

    def common(p: argparse.ArgumentParser, func: Any, distortion: bool = True) -> None:
        if distortion:
            p.add_argument("--D", required=True, help="distortion(s): 0.1, a list, or START:STOP:N evenly spaced")
            p.add_argument("--tol", type=float, default=1e-8, help="bracket width in nats (default 1e-8)")
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")
        p.set_defaults(func=func)

    p = kinds.add_parser("rate-distortion", help="R(D) of a discrete source by Blahut-Arimoto",
                         description=__doc__, epilog=RD_EXAMPLES, formatter_class=fmt)
    p.add_argument("--px", required=True, help="source law p(x): a list of probabilities")
    p.add_argument("--d", help="distortion matrix d(x, xhat) as 'a,b;c,d' (default Hamming)")
    common(p, cmd_rate_distortion)
    wz = kinds.add_parser("wyner-ziv", help="R_WZ(D) and R_X|Y(D)", description=__doc__, epilog=RD_EXAMPLES,
                          formatter_class=fmt)
    sources = wz.add_subparsers(dest="source", required=True, metavar="SOURCE")
    p = sources.add_parser("dsbs", help="doubly symmetric binary source, Hamming distortion", epilog=RD_EXAMPLES,
                           formatter_class=fmt)
    p.add_argument("--p", type=float, required=True, help="crossover probability in (0, 0.5)")
    common(p, cmd_wz_dsbs)
    p = sources.add_parser("joint", help="any discrete joint law p(x, y)", epilog=RD_EXAMPLES, formatter_class=fmt)
    p.add_argument("--pxy", required=True, help="joint law as rows x, columns y: 'a,b;c,d'")
    p.add_argument("--d", help="distortion matrix d(x, xhat) as 'a,b;c,d' (default Hamming)")
    common(p, cmd_wz_joint)
    p = sources.add_parser("gaussian", help="jointly Gaussian, squared error (closed form; --discretise computes it)", epilog=RD_EXAMPLES,
                           formatter_class=fmt)
    p.add_argument("--variance", type=float, default=1.0, help="variance of X (default 1)")
    p.add_argument("--rho", type=float, required=True, help="correlation of X and Y")
    p.add_argument("--D", required=True, help="distortion(s) > 0: a value, a list, or START:STOP:N evenly spaced")
    p.add_argument("--discretise", type=float, metavar="STEP",
                   help="also compute both rates on X quantised to cells of STEP sigma (0.1: about a minute)")
    p.add_argument("--side-step", type=float, default=0.25, help="with --discretise: Y cell width in sigma_Y")
    p.add_argument("--tol", type=float, default=1e-2, help="with --discretise: bracket width in nats (default 1e-2)")
    common(p, cmd_wz_gaussian, distortion=False)
    seq = kinds.add_parser("sequential", help="suffix-only window against the optimal rate or the filter state",
                           description=__doc__, epilog=RD_EXAMPLES, formatter_class=fmt)
    srcs = seq.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, cls in SEQUENTIAL_SOURCES.items():
        p = srcs.add_parser(name, help=(cls.__doc__ or "").strip().splitlines()[0], epilog=RD_EXAMPLES,
                            formatter_class=fmt)
        add_source_parameters(p, cls)
        p.add_argument("--eps", required=True, help="target excess log loss(es), nats: a list or START:STOP:N")
        p.add_argument("--side-window", type=int, default=0, help="Gaussian: values the decoder knows (default 0)")
        p.add_argument("--samples", type=int, default=200, help="HMM: sampled paths (default 200)")
        p.add_argument("--seed", type=int, default=0, help="HMM: random seed (default 0)")
        common(p, cmd_sequential, distortion=False)
