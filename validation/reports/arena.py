"""The arena's outputs: leaderboard.md/.csv/.png and arena.md/.png (validation.arena computes them).

Figures have labelled axes, log scales where the law is a power, and legends;
every number in them is also in arena.json.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from validation.reports.figures import pyplot, save
from validation.runs.contests import Contest, Standing, frontier
from validation.runs.store import atomic_write

KIB = 1024.0


def interval(iv) -> dict:
    """An Interval as {estimate, low, high} (the bootstrap distribution stays out of the files)."""
    return {"estimate": float(iv.estimate), "low": float(iv.low), "high": float(iv.high)}


def standing_row(s: Standing) -> dict:
    maybe = lambda iv: None if iv is None else interval(iv)  # noqa: E731
    return {"domain": s.domain, "policy": s.policy, "mode": s.mode, "kind": s.kind, "budget": s.budget,
            "ratio": s.ratio, "bytes": s.bytes, "documents": s.n, "tv": interval(s.tv), "kl_mu": interval(s.kl),
            "tv_p90": interval(s.tv_p90), "tv_p99": s.tv_p99, "kld": maybe(s.kld), "kld_p99": s.kld_p99,
            "same_top": maybe(s.same_top), "ppl_ratio": maybe(s.ppl_ratio)}


def contest_row(c: Contest) -> dict:
    """One contest in arena.json: each rule's verdict in its one serialisation (`Verdict.to_dict`)."""
    return {"domain": c.domain, "policy": c.policy, "mode": c.mode, "judged": c.judged,
            "faster_decay": c.faster.to_dict(), "less_memory": c.less.to_dict(),
            "same_mode_faster_decay": None if c.same_mode is None else c.same_mode.to_dict(),
            "bytes": list(c.bytes), "words": c.words}


def _interval(v) -> str:
    """A verdict's interval, with its estimate when it has one."""
    if v is None or v.interval is None:
        return ""
    n = v.numbers
    est = n.get("estimate", n.get("ratio"))
    if est is None and n.get("alpha_reference"):  # faster_decay short of two decades: the ratio, not decided on
        est = n["alpha_contender"] / n["alpha_reference"]
    head = "" if est is None else f"{est:.3g} "
    return f"{head}[{v.interval[0]:.3g}, {v.interval[1]:.3g}]"


def _ci(iv, digits: int = 3) -> str:
    return f"{iv.estimate:.{digits}g} [{iv.low:.{digits}g}, {iv.high:.{digits}g}]"


def _reference_budget(standings: list[Standing]) -> int:
    budgets = sorted({s.budget for s in standings})
    return budgets[len(budgets) // 2]


def _label(policy: str, mode: str) -> str:
    return f"{policy.removeprefix('kvpress:')} ({mode})"


def write_arena(out: Path, report: dict, standings: list[Standing], results: list[Contest],
                reference: tuple[str, str], at_ratios: list[Standing] = ()) -> None:
    """leaderboard.csv, .md, .png, arena.md, .png; `reference`: (spec, mode) of the suffix-only reference;
    `at_ratios`: the standings at the compression ratios users run (the leaderboard's main table)."""
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "leaderboard.csv", [("ratios", s) for s in at_ratios] + [("extreme", s) for s in standings])
    if standings:
        _leaderboard_figure(out / "leaderboard.png", standings)
        _arena_figure(out / "arena.png", standings, reference)
    atomic_write(out / "leaderboard.md", _leaderboard_md(report, standings, results, list(at_ratios)).encode("utf-8"))
    atomic_write(out / "arena.md", _arena_md(report, standings, results).encode("utf-8"))


def _write_csv(path: Path, rows: list[tuple[str, Standing]]) -> None:
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(["table", "domain", "policy", "mode", "kind", "budget", "ratio", "bytes", "documents", "tv_mean",
                "tv_low", "tv_high", "kl_mu_mean", "kl_mu_low", "kl_mu_high", "tv_p90", "tv_p90_low", "tv_p90_high",
                "tv_p99", "kld_mean", "kld_low", "kld_high", "kld_p99", "same_top", "same_top_low", "same_top_high",
                "ppl_ratio", "ppl_ratio_low", "ppl_ratio_high"])
    for table, s in rows:
        ends = lambda iv: ["", "", ""] if iv is None else [iv.estimate, iv.low, iv.high]  # noqa: E731
        w.writerow([table, s.domain, s.policy, s.mode, s.kind, s.budget, s.ratio, int(s.bytes), s.n,
                    s.tv.estimate, s.tv.low, s.tv.high, s.kl.estimate, s.kl.low, s.kl.high,
                    s.tv_p90.estimate, s.tv_p90.low, s.tv_p90.high, s.tv_p99, *ends(s.kld),
                    "" if s.kld_p99 is None else s.kld_p99, *ends(s.same_top), *ends(s.ppl_ratio)])
    atomic_write(path, buffer.getvalue().encode("utf-8"))


def _targets(protocol: dict) -> str:
    """The targets of a recorded protocol, in words (target_spacing is recorded only when not 1)."""
    n, spacing = protocol.get("targets", 1), protocol.get("target_spacing", 1)
    if n == 1:
        return "one target each (the last position)"
    return f"{n} targets each, {spacing} positions apart, the last at the end (the leaderboard at ratios: the last only)"


def _header(report: dict) -> list[str]:
    p, m = report["protocol"], report["model"]
    return [f"Model: {m['name']} ({m['dtype']}, {m['device']}); one KV entry = {m['kv_bytes_per_token']:.0f} bytes; "
            f"{m['bos']}.",
            f"Protocol: {p['prefixes']} prefixes of {p['prefix_length']} tokens per domain, {_targets(p)}, budgets "
            f"{', '.join(map(str, p['budgets']))} entries (the query's own included); "
            f"fit range {report['fit_range'][0]:g}..{report['fit_range'][1]:g}. This invocation took {report['seconds']} s "
            "(a resumed run skips what was measured before).", ""]


def _leaderboard_md(report: dict, standings: list[Standing], results: list[Contest],
                    at_ratios: list[Standing]) -> str:
    lines = ["# Press leaderboard: the drift of the next-token law under every policy", ""] + _header(report)
    if not standings and not at_ratios:
        return "\n".join(lines + ["Nothing was measured.", ""])
    if at_ratios:
        lines += _ratios_md(at_ratios)
    if not standings:
        return "\n".join(lines + _failures(report))
    lines += ["# The extreme regime: the arena's budgets", ""]
    k = _reference_budget(standings)
    ratios = {(c.domain, c.policy, c.mode): c.faster for c in results}
    lines += [f"Ranked by mean TV at budget {k} (lower is better). Intervals: 95% paired bootstrap over documents. "
              "KL_mu: the smoothed KL at the protocol's middle mu. p99 of a few dozen documents is the top of "
              "the sample. Exponent ratio: the policy's exponent of mean TV over budgets divided by the suffix-only "
              "window's (recompute), on the upper half of the budgets (faster_decay's quantity); > 1 decays "
              "faster. Every budget of every policy is in leaderboard.csv; the figure is leaderboard.png.", ""]
    for domain in dict.fromkeys(s.domain for s in standings):
        rows = sorted((s for s in standings if s.domain == domain and s.budget == k), key=lambda s: s.tv.estimate)
        lines += [f"## {domain}", "", "| rank | policy | mode | KiB | mean TV | mean KL_mu | p90 TV | p99 TV | exponent ratio |",
                  "|---:|---|---|---:|---|---|---|---:|---|"]
        for i, s in enumerate(rows, 1):
            r = ratios.get((s.domain, s.policy, s.mode))
            lines.append(f"| {i} | {s.policy} | {s.mode} | {s.bytes / KIB:,.0f} | {_ci(s.tv)} | {_ci(s.kl)} | "
                         f"{_ci(s.tv_p90)} | {s.tv_p99:.3g} | {'reference' if r is None else _interval(r)} |")
        lines.append("")
    lines += _failures(report)
    return "\n".join(lines)


def _ratios_md(at_ratios: list[Standing]) -> list[str]:
    """The main table: every policy at the compression ratios users run, ranked by mean KL divergence."""
    lines = ["# At the compression ratios users run", "",
             "Each policy keeps 1 - ratio of the prefix's entries (the budget is that plus the query's own). "
             "Beside mean TV and KL_mu, the metrics llama.cpp's `--kl-divergence` reports: KLD = KL(p || q) in nats "
             "(mean, with its interval, and p99 over targets), same top = how often the most likely next token is "
             "the full context's, PPL ratio = PPL(q) / PPL(p) on the text's actual next tokens (exp of the mean "
             "excess negative log-likelihood). Ranked by mean KLD at each ratio. Intervals: 95% paired bootstrap "
             "over documents.", ""]
    for domain in dict.fromkeys(s.domain for s in at_ratios):
        here = [s for s in at_ratios if s.domain == domain]
        lines += [f"## {domain}", ""]
        for budget in sorted({s.budget for s in here}, reverse=True):
            rows = sorted((s for s in here if s.budget == budget),
                          key=lambda s: s.kld.estimate if s.kld is not None else s.kl.estimate)
            lines += [f"### {rows[0].ratio:.0%} compression (budget {budget})", "",
                      "| rank | policy | mode | KiB | mean KLD | p99 KLD | same top | PPL ratio | mean TV | "
                      "mean KL_mu |", "|---:|---|---|---:|---|---:|---|---|---|---|"]
            for i, s in enumerate(rows, 1):
                kld = "" if s.kld is None else _ci(s.kld)
                p99 = "" if s.kld_p99 is None else f"{s.kld_p99:.3g}"
                top = "" if s.same_top is None else (f"{s.same_top.estimate:.0%} [{s.same_top.low:.0%}, "
                                                     f"{s.same_top.high:.0%}]")
                ppl = "" if s.ppl_ratio is None else _ci(s.ppl_ratio)
                lines.append(f"| {i} | {s.policy.removeprefix('kvpress:')} | {s.mode} | {s.bytes / KIB:,.0f} | {kld} | "
                             f"{p99} | {top} | {ppl} | {_ci(s.tv)} | {_ci(s.kl)} |")
            lines.append("")
    return lines


def _arena_md(report: dict, standings: list[Standing], results: list[Contest]) -> str:
    lines = ["# The open-question arena: do propagating summaries beat the suffix-only scaling?", ""] + _header(report)
    lines += ["A suffix-only cache needs a window w = Theta(eps^(-1/alpha)) for distortion eps: mean TV ~ C w^-alpha, "
              "and its memory is w entries. Each policy is set against the sliding window in recompute mode on the "
              "same documents by the two rules of the claims layer (wzbounds.claims.scaling), each decided from a "
              "95% paired cluster-bootstrap interval: **faster_decay** holds when its exponent over budgets exceeds "
              "the reference's by more than 5% on at least two decades of budgets and it is better at the top "
              "budget (a better constant or a catch-up is never a win); **less_memory** holds when it needs fewer "
              "bytes to reach a distortion both reach. Inconclusive by rule with fewer than 8 documents, and "
              "faster_decay where a summary's compressed past covers the whole prefix. Same mode: faster_decay "
              "against the sliding window in the policy's own mode (evict entries were computed with the whole "
              "prefix present, which alone changes the curve).",
              "", "![distortion against bytes](arena.png)", ""]
    for domain in dict.fromkeys(c.domain for c in results):
        lines += [f"## {domain}", "", "| policy | mode | KiB | exponent ratio | top-budget ratio | bytes ratio at eps | "
                  "same mode | faster_decay | less_memory |", "|---|---|---|---|---|---|---|---|---|"]
        for c in sorted((c for c in results if c.domain == domain), key=lambda c: (not c.judged, c.policy)):
            n = c.faster.numbers
            top = (f"{n['top_ratio']:.3g} [{n['top_ratio_low']:.3g}, {n['top_ratio_high']:.3g}]"
                   if "top_ratio" in n else "")
            verdicts = ((f"**{c.faster.outcome}**", f"**{c.less.outcome}**") if c.judged
                        else (_unjudged(c.policy), ""))
            lines.append(f"| {c.policy} | {c.mode} | {c.bytes[0] / KIB:,.0f}..{c.bytes[1] / KIB:,.0f} | "
                         f"{_interval(c.faster)} | {top} | {_interval(c.less)} | {_interval(c.same_mode)} | "
                         f"{verdicts[0]} | {verdicts[1]} |")
        lines.append("")
        for c in results:
            if c.domain == domain and c.judged:
                lines.append(f"- {c.policy} ({c.mode}): faster_decay {c.faster.outcome}: {c.faster.reason}")
                lines.append(f"- {c.policy} ({c.mode}): less_memory {c.less.outcome}: {c.less.reason}")
        lines.append("")
    lines += ["## Beside it: sources where the answer is known", "",
              "On an HMM the filter state (the predictive law of the hidden state) is a finite sufficient statistic: "
              "a summary of fixed size, quantised, needs memory growing like log(1/eps), while the window's grows "
              "like a power of 1/eps when the source's truncation sensitivity decays polynomially (the renewal HMM). "
              "So on these sources summaries beat the suffix-only scaling, by construction "
              "(wzbounds.ratedistortion, docs/ratedistortion.md). Excess log loss eps in nats; memory in nats.", "",
              "| source | eps | window (tokens) | window memory | summary memory |", "|---|---:|---:|---:|---:|"]
    for r in report["synthetic"]:
        lines.append(f"| {r['source']} | {r['eps']:g} | {r['window']:g} | {r['window_nats']:.1f} | {r['summary_nats']:.1f} |")
    lines += ["", "What a language model's answer is cannot be read off these: LMs have no known finite sufficient "
              "statistic, which is why it is measured above.", ""]
    lines += _failures(report)
    return "\n".join(lines)


def _unjudged(policy: str) -> str:
    return "(a press: ranked, not judged)" if policy.startswith("kvpress:") else "(not propagating: not judged)"


def _failures(report: dict) -> list[str]:
    if not report["failures"]:
        return []
    return ["## Failed parts", ""] + [f"- {line}" for line in report["failures"].values()] + [""]


def _leaderboard_figure(path: Path, standings: list[Standing]) -> None:
    plt = pyplot()
    k = _reference_budget(standings)
    domains = list(dict.fromkeys(s.domain for s in standings))
    n = max(len([s for s in standings if s.domain == d and s.budget == k]) for d in domains)
    fig, axes = plt.subplots(1, len(domains), figsize=(7 * len(domains), 0.3 * n + 1.8), squeeze=False)
    for ax, domain in zip(axes[0], domains):
        rows = sorted((s for s in standings if s.domain == domain and s.budget == k), key=lambda s: -s.tv.estimate)
        y = np.arange(len(rows))
        mean = np.array([s.tv.estimate for s in rows])
        err = np.array([[s.tv.estimate - s.tv.low for s in rows], [s.tv.high - s.tv.estimate for s in rows]])
        colors = ["tab:gray" if s.kind == "press" else "tab:purple" if s.kind == "summary" else "tab:blue" for s in rows]
        ax.barh(y, mean, xerr=err, color=colors, capsize=2)
        ax.scatter([s.tv_p90.estimate for s in rows], y, marker="|", color="black", s=60, label="p90 TV", zorder=3)
        ax.set_yticks(y, [_label(s.policy, s.mode) for s in rows], fontsize=7)
        ax.set_xlabel(f"TV at budget {k} (bars: mean, 95% interval; |: p90)")
        ax.set_title(domain)
        ax.legend(loc="lower right", fontsize=7)
    fig.suptitle("grey: kvpress presses; purple: summaries; blue: kept sets (sliding, sink)", fontsize=9)
    fig.tight_layout()
    save(fig, path)


def _arena_figure(path: Path, standings: list[Standing], reference: tuple[str, str]) -> None:
    plt = pyplot()
    domains = list(dict.fromkeys(s.domain for s in standings))
    fig, axes = plt.subplots(1, len(domains), figsize=(6.5 * len(domains), 5), squeeze=False)
    base = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    palette = iter([(c, ls) for ls in ("-", "--", ":", "-.") for c in base])  # colours repeat with a new dash
    colors: dict[tuple[str, str], tuple[str, str]] = {}
    for ax, domain in zip(axes[0], domains):
        mine = [s for s in standings if s.domain == domain]
        for key in dict.fromkeys((s.policy, s.mode) for s in mine):
            rows = sorted((s for s in mine if (s.policy, s.mode) == key), key=lambda s: s.bytes)
            x = [s.bytes / KIB for s in rows]
            y = [s.tv.estimate for s in rows]
            if key == reference:
                ax.plot(x, y, color="black", lw=2.5, marker="o", label=f"{_label(*key)}: suffix-only", zorder=4)
            elif rows[0].kind == "press":
                ax.plot(x, y, color="tab:gray", lw=0.8, alpha=0.6, label="kvpress presses (evict)"
                        if "press" not in colors else None)
                colors["press"] = ("tab:gray", "-")
            else:
                color, dash = colors.setdefault(key, next(palette))
                ax.plot(x, y, color=color, ls=dash, lw=1.6, marker=".", label=_label(*key))
                ax.fill_between(x, [s.tv.low for s in rows], [s.tv.high for s in rows], color=color, alpha=0.12,
                                lw=0)
            if key == reference:
                ax.fill_between(x, [s.tv.low for s in rows], [s.tv.high for s in rows], color="black", alpha=0.12,
                                lw=0)
        edge = frontier([(s.bytes / KIB, s.tv.estimate) for s in mine])
        ax.step([b for b, _ in edge], [d for _, d in edge], where="post", color="tab:red", ls="--", lw=1.5,
                label="empirical frontier", zorder=5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("KV cache the query reads (KiB)")
        ax.set_ylabel("mean TV to the full-context law (bands: 95% intervals)")
        ax.set_title(domain)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    save(fig, path)
