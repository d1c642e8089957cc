"""The validation report: figures (PNG), report.md, and a self-contained report.html.

Every number also goes to report.json (written by `validate`). Each figure
has labelled axes, log scales where the law is a power, and a legend.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path

from validation.reports.figures import LINE_COLOURS, pyplot, save
from validation.runs.analysis import CurveLine, DecayPanel, Figures
from validation.runs.store import atomic_write
from wzbounds.claims import PAPER
from wzbounds.curves import Curves
from wzbounds.fit import plot_fits

COLOURS = {"holds": "#d6f5d6", "fails": "#f8d0d0", "inconclusive": "#f2f2f2"}  # verdict cells in report.html


def _finding(report: dict, claim: str, domain: str) -> dict:
    return next(c for c in report["checks"] if c["claim"] == claim and c["domain"] == domain)


def figure_decay(path: Path, panels: tuple[DecayPanel, ...]) -> None:
    """Each domain's TV panel draws the fit the alpha_tv row reports (its fit range, its interval);
    the KL panel the KL exponent on the same range, from the same number of resamples."""
    plt = pyplot()
    fig, axes = plt.subplots(len(panels), 2, figsize=(13, 4.6 * len(panels)), squeeze=False)
    for i, d in enumerate(panels):
        c = d.sliding
        ax = plot_fits(c.windows, c.mean("tv"), comparison=d.comparison, interval=d.alpha_tv,
                       fit_range=d.fit_range, label="E TV, positions preserved", ax=axes[i, 0])
        if d.reindexed is not None:
            ax.loglog(d.reindexed.windows, d.reindexed.mean("tv"), "x", color="tab:purple", ms=9,
                      label="E TV, re-indexed")
            ax.legend(fontsize=7)
        ax.set_title(f"{d.domain}: truncation sensitivity delta(w) (sliding window, recompute)")
        ax.set_ylabel("delta(w) = E TV")
        ax2 = plot_fits(c.windows, c.mean("kl"), interval=d.alpha_kl, fit_range=d.fit_range,
                        label=f"kappa_mu, mu = {c.mu:g}", ax=axes[i, 1])
        ax2.set_title(f"{d.domain}: smoothed KL kappa_mu(w)")
        ax2.set_ylabel("kappa_mu(w) = E KL_mu (nats)")
    fig.tight_layout()
    save(fig, path)


def figure_kl_vs_tv2(path: Path, by_mu: Mapping[str, tuple[Curves, ...]]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(by_mu), figsize=(6.2 * len(by_mu), 4.8), squeeze=False)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for i, (d, panels) in enumerate(by_mu.items()):
        ax = axes[0, i]
        for j, c in enumerate(panels):
            tv2 = (c.tv**2).mean(axis=0)
            ax.loglog(tv2, c.mean("kl"), "o-", color=colors[j % 4], ms=4, label=f"kappa_mu, mu = {c.mu:g}")
            ax.loglog(tv2, 2 * (1 - c.mu) ** 2 * tv2, ":", color=colors[j % 4], lw=1,
                      label=f"Pinsker floor 2(1-mu)^2 E TV^2, mu = {c.mu:g}")
        ax.set_xlabel("E[TV^2] at each budget")
        ax.set_ylabel("kappa_mu = E KL_mu (nats)")
        ax.set_title(f"{d}: KL against TV^2 (budgets as points)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


MARKERS = {"recompute": "o-", "evict": "s--", "online": "^:"}


def figure_policies(path: Path, lines: Mapping[str, tuple[CurveLine, ...]]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(lines), figsize=(6.5 * len(lines), 4.8), squeeze=False)
    for i, (d, curves) in enumerate(lines.items()):
        ax = axes[0, i]
        colour = {}
        for line in curves:
            colour.setdefault(line.spec, LINE_COLOURS[len(colour) % len(LINE_COLOURS)])
            ax.loglog(line.curve.windows, line.curve.mean("tv"), MARKERS[line.mode], color=colour[line.spec],
                      ms=5 if line.mode == "online" else 3, label=f"{line.spec} ({line.mode})")
        ax.set_xlabel("budget k (tokens kept)")
        ax.set_ylabel("E TV to the full-context law")
        ax.set_title(f"{d}: policies at equal budget")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save(fig, path)


def figure_band(path: Path, report: dict) -> None:
    plt = pyplot()
    domains = report["domains"]
    fig, ax = plt.subplots(figsize=(7, 4.8))
    colors = ("tab:blue", "tab:green", "tab:red", "tab:purple")
    drawn = False
    for i, d in enumerate(domains):  # every domain with a window, colours cycling
        color = colors[i % len(colors)]
        chk = _finding(report, "theta_band", d)
        n = chk["numbers"]
        if "upper_gib" not in n:
            continue  # no window without PTS
        drawn = True
        ax.loglog(n["eps"], n["upper_gib"], "o-", color=color,
                  label=f"{d}: sliding window (C/eps)^(1/alpha), alpha = {n['alpha']:.3f}")
    if not drawn:
        plt.close(fig)
        raise ValueError("PTS holds on no domain: the power law gives no window to draw")
    ax.invert_xaxis()
    ax.set_xlabel("target distortion eps (E TV)")
    ax.set_ylabel(f"KV cache per sequence (GiB, {report['model']['dtype']})")
    ax.set_title(f"The window the power law gives, in memory: {report['model']['name']}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


def _fmt(x) -> str:
    if isinstance(x, dict) and {"estimate", "low", "high"} <= set(x):
        return f"{x['estimate']:.3f} [{x['low']:.3f}, {x['high']:.3f}]"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _interval(c: dict) -> str:
    return "" if c["interval"] is None else f"[{c['interval'][0]:.3g}, {c['interval'][1]:.3g}]"


def _range(c: dict) -> str:
    n = c["numbers"]
    if "fit_range" in n:
        return "{:g}..{:g}".format(*n["fit_range"])
    return f"at {n['budget']:g}" if "budget" in n else ""


def _paper_rows(report: dict) -> list[tuple[str, str, str, str]]:
    """(quantity, domain, this run, paper) rows."""
    rows = []
    by = {(c["claim"], c["domain"]): c for c in report["checks"]}
    for d in report["domains"]:
        a = by.get(("alpha_tv", d))
        if a and "estimate" in a["numbers"]:
            rows.append(("alpha_TV (positions preserved)", d, f"{a['numbers']['estimate']:.3f} {_interval(a)}",
                         _fmt(PAPER["alpha_tv"].get(d))))
        k = by.get(("kl_doubling", d))
        if k and "estimate" in k["numbers"]:
            rows.append((f"alpha_KL / alpha_TV (mu = {k['numbers']['mu']:g})", d,
                         f"{k['numbers']['estimate']:.2f} {_interval(k)}", "2.00"))
        r = by.get(("recency_two_orders", d))
        if r and "estimate" in r["numbers"]:
            rows.append(("random-K / sliding KL_mu at the largest budget", d,
                         f"{r['numbers']['estimate']:.1f}x {_interval(r)}", "about 100x"))
    return rows


def _targets(protocol: dict) -> str:
    n, spacing = protocol["targets"], protocol.get("target_spacing", 1)
    return f"{n} target" + ("s" if n > 1 else "") + (f" {spacing} positions apart" if spacing > 1 else "")


def _verb(c: dict) -> str:
    return {"holds": "holds", "fails": "fails"}.get(c["outcome"], "is inconclusive") + (
        f" ({c['numbers']['estimate']:.2f} {_interval(c)})" if "estimate" in c["numbers"] else "")


def summary(report: dict) -> list[str]:
    """A few plain sentences of what was found, claim by claim, before any table."""
    by = {(c["claim"], c["domain"]): c for c in report["checks"]}
    out = []
    for d in report["domains"]:
        parts = []
        law, a = by.get(("power_law", d)), by.get(("alpha_tv", d))
        if law and a and "estimate" in a["numbers"]:
            shown = {"holds": "is", "fails": "is not"}.get(law["outcome"], "is not shown to be")
            parts.append(f"the truncation sensitivity {shown} a power law (power_law {law['outcome']}: against "
                         f"geometric, stretched-exponential and flattening decay); alpha_TV = "
                         f"{a['numbers']['estimate']:.3f} {_interval(a)} on budgets {_range(a)}")
        k = by.get(("kl_doubling", d))
        if k:
            parts.append(f"the smoothed-KL exponent doubling TV's {_verb(k)}")
        s = by.get(("sink_recovery", d))
        if s:
            parts.append(f"sink+recent recovering the doubled exponent {_verb(s)}")
        r = by.get(("recency_vs_random", d))
        if r and "estimate" in r["numbers"]:
            parts.append(f"the sliding window beats random-K by {r['numbers']['estimate']:.1f}x in KL_mu at the "
                         f"largest budget ({r['outcome']})")
        props = [c for c in report["checks"] if c["domain"] == d and c["claim"].startswith("propagating_")]
        faster = [c["claim"].removeprefix("propagating_") for c in props if c["outcome"] == "holds"]
        if props:
            parts.append("propagating caches decaying faster than suffix-only: "
                         + (", ".join(faster) if faster else "none established"))
        if parts:
            out.append(f"On **{d}**, " + "; ".join(parts) + ".")
    evidence = [c for c in report["checks"] if c["kind"] == "evidence"]
    counts = {v: sum(c["outcome"] == v for c in evidence) for v in ("holds", "fails", "inconclusive")}
    engine = [c for c in report["checks"] if c["kind"] != "evidence"]
    out.append(f"In all, as evidence: {counts['holds']} claims hold, {counts['fails']} fail and "
               f"{counts['inconclusive']} are inconclusive (the interval of the quantity straddles the claim, or its "
               "hypothesis is not established); each row below gives the interval and the fit range it rests on."
               + (f" Not counted: {len(engine)} engine checks, identities by construction "
                  f"({sum(c['outcome'] == 'holds' for c in engine)} pass)." if engine else ""))
    return out


def markdown(report: dict, figures: dict[str, str]) -> str:
    m = report["model"]
    main = report["protocols"]["main"]
    lines = [
        f"# wzbounds validation: {m['name']}",
        "",
        *[line for s in summary(report) for line in (s, "")],
        f"Preset `{report['preset']}`: {main['prefixes']} prefixes of {main['prefix_length']} tokens per domain "
        f"(each one bootstrap sample), {_targets(main)} each, budgets {main['budgets'][0]}.."
        f"{main['budgets'][-1]}; device {m['device']}, dtype {m['dtype']}, {m['bos']}; {report['seconds']} s. "
        f"Domains: {', '.join(report['domains'])}. These texts are very likely in the model's training data. "
        f"The seed paper measured {PAPER['model']}: this is a different model, so differences are findings.",
        "",
    ]
    if report.get("flags"):
        lines += ["## Sanity flags", ""] + [f"- {f}" for f in report["flags"]] + [""]
    lines += ["## Verdicts", "",
              "Each claim is decided from the 95% paired cluster-bootstrap interval of the quantity it is about: "
              "it holds when the whole interval lies on the claim's side, fails when the whole interval lies on "
              "the other, and is inconclusive otherwise.", "",
              "| claim | domain | verdict | kind | interval | fit range | statement |", "|---|---|---|---|---|---|---|"]
    for c in report["checks"]:
        lines.append(f"| {c['claim']} | {c['domain']} | **{c['outcome']}** | {c['kind']} | {_interval(c)} | "
                     f"{_range(c)} | {c['statement']} |")
    if report.get("failures"):
        lines += ["", "## Parts that failed", "", "These measurements failed; the claims that need them are "
                  "inconclusive, the rest of the report stands:", ""]
        failed = list(report["failures"].values())
        lines += [f"- {line}" for line in failed[:20]]
        if len(failed) > 20:
            lines.append(f"- ... and {len(failed) - 20} more (report.json lists every one)")
    lines += ["", "## This run beside the paper", "", f"| quantity | domain | this run ({m['name']}) | paper ({PAPER['model']}) |",
              "|---|---|---|---|"]
    lines += [f"| {q} | {d} | {a} | {b} |" for q, d, a, b in _paper_rows(report)]
    alphas = [c for c in report["checks"] if c["claim"] == "alpha_tv" and "local_slopes" in c["numbers"]]
    if alphas:
        lines += ["", "## Where the exponent bends", "", "alpha_TV fitted on every sub-range of the budgets spanning "
                  "at least one decade, and the local slopes -d log delta / d log w between consecutive budgets, "
                  "each with its 95% interval (a single power law has one slope throughout; the verdict above uses "
                  "the checker's fit range, stated beside it):", "", "| domain | budgets | alpha_TV | interval |", "|---|---|---|---|"]
        for c in alphas:
            for r in c["numbers"].get("fit_ranges", []):
                lines.append(f"| {c['domain']} | {r['from']:g}..{r['to']:g} | {r['estimate']:.3f} | "
                             f"[{r['low']:.3f}, {r['high']:.3f}] |")
            for r in c["numbers"]["local_slopes"]:
                lines.append(f"| {c['domain']} | {r['from']:g}-{r['to']:g} (local) | {r['estimate']:.3f} | "
                             f"[{r['low']:.3f}, {r['high']:.3f}] |")
    lines += ["", "## Figures", ""]
    for name, caption in figures.items():
        lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    lines += ["## Why each verdict", "", "Every number is in `report.json`.", ""]
    for c in report["checks"]:
        more = c["numbers"].get("documents_to_decide")
        reason = c["reason"] if c["reason"].endswith(".") else c["reason"] + "."
        lines.append(f"- **{c['claim']} ({c['domain']})**: {c['outcome']}. {reason}"
                     + (f" Roughly {more} documents would decide it (the interval narrowing as 1/sqrt(n))."
                        if more else ""))
    return "\n".join(lines) + "\n"


def html_page(md_text: str, out: Path, figures: dict[str, str]) -> str:
    """A self-contained HTML rendering: tables and paragraphs, figures embedded as base64."""
    body, table = [], []

    def flush():
        if table:
            head, *rest = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = lambda r: [html.escape(x.strip()).replace("**", "") for x in r.strip().strip("|").split("|")]  # noqa: E731

            def td(c: str) -> str:
                colour = COLOURS.get(c)
                return f"<td style='background:{colour}'><b>{c}</b></td>" if colour else f"<td>{c}</td>"

            body.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in cells(head)) + "</tr>" + "".join(
                "<tr>" + "".join(td(c) for c in cells(r)) + "</tr>" for r in rest) + "</table>")
            table.clear()

    for line in md_text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            name = line[line.rindex("(") + 1 : -1]
            data = base64.b64encode((out / name).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(figures.get(name, name))}" src="data:image/png;base64,{data}">')
        elif line.startswith("- "):
            body.append(f"<p class='item'>{html.escape(line[2:]).replace('**', '')}</p>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('*', '').replace('`', '')}</p>")
    flush()
    css = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px;"
           "text-align:left}th{background:#f0f0f0}img{max-width:100%;border:1px solid #eee;margin:0.5em 0}"
           "p.item{font-size:13px;margin:0.3em 0}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>wzbounds validation</title><style>{css}</style>" \
           f"</head><body>{''.join(body)}</body></html>\n"


def write_report(out: Path, report: dict, drawn: Figures) -> None:
    """report.md, report.html and the figures; a figure whose data a failed part lacks is left out
    (`drawn.left_out`, recorded in the report as figures_left_out)."""
    drawers = {
        "decay.png": (drawn.decay and (lambda p: figure_decay(p, drawn.decay)),
                      "TV and smoothed-KL decay on log-log axes, with power (solid) and exponential (dashed) fits, "
                      "the 95% band of alpha, and the extrapolation split"),
        "kl_vs_tv2.png": (drawn.by_mu and (lambda p: figure_kl_vs_tv2(p, drawn.by_mu)),
                          "kappa_mu against E[TV^2], one point per budget, with the Pinsker floor"),
        "policies.png": (drawn.policies and (lambda p: figure_policies(p, drawn.policies)),
                         "every policy and mode at equal budget"),
        "theta_band.png": (lambda p: figure_band(p, report),
                           "the window the fitted power law gives for each eps, in GiB of KV cache for this model"),
    }
    figures = {}
    for name, (draw, caption) in drawers.items():
        if name in drawn.left_out:
            report.setdefault("figures_left_out", {})[name] = drawn.left_out[name]
            continue
        try:
            draw(out / name)
        except (ValueError, KeyError, StopIteration) as exc:  # theta_band: no window, or no finding for it
            report.setdefault("figures_left_out", {})[name] = f"{type(exc).__name__}: {exc}"
        else:
            figures[name] = caption
    md = markdown(report, figures)
    atomic_write(out / "report.md", md.encode("utf-8"))
    atomic_write(out / "report.html", html_page(md, out, figures).encode("utf-8"))
