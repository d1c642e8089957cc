"""Regenerate the figures of docs/sources.md and docs/ratedistortion.md: `python docs/make_figures.py`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from wzbounds.sources import ARFIMA, GeometricPACF, MarkovHMM, PowerLawCopy, PowerPACF, RenewalHMM

HERE = Path(__file__).parent / "figures"
W = np.geomspace(1, 4096, 13).round()


def sources_figure() -> None:
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))

    ax = axes[0]
    for src, color in [(ARFIMA(0.3), "tab:blue"), (PowerPACF(0.5, 0.8), "tab:green"), (GeometricPACF(0.6, 0.8), "tab:red")]:
        w = W if src.truth.law == "power" else W[W <= 64]
        ex = src.exact_curves(w)
        label = f"{src.name} {src.parameters}".replace("'", "")
        ax.loglog(w, ex.delta, "-o", color=color, ms=3, label=f"E TV, {label}")
        ax.loglog(w, ex.Delta, "--", color=color, label="Delta (KL)")
    ax.set_title("Gaussian PACF sources (exact)")
    ax.set_xlabel("window w (tokens)")
    ax.set_ylabel("distortion (TV; KL in nats)")
    ax.set_ylim(1e-9, 1)
    ax.legend(fontsize=7)

    ax = axes[1]
    copy = PowerLawCopy(V=50000, lam=0.5, alpha=0.5, context=8192)
    w = W[W <= 2048]
    c = copy.sample_curves(w, 100, rng, mu=0.1)
    ax.loglog(w, c.mean("tv"), "-o", ms=3, color="tab:blue", label="E TV (100 paths)")
    ax.loglog(w, copy.asymptote(w), ":", color="tab:blue", label="large-V asymptote")
    ax.loglog(w, c.mean("kl"), "-s", ms=3, color="tab:orange", label="kappa_mu, mu = 0.1")
    ax.loglog(w, c.mean("tv") ** 2 * c.mean("kl")[0] / c.mean("tv")[0] ** 2, ":", color="tab:orange",
              label="(E TV)^2, scaled: what doubling would give")
    ax.set_title("copy source, V = 50000, alpha = 0.5: KL does not double")
    ax.set_xlabel("window w (tokens)")
    ax.set_ylabel("distortion")
    ax.legend(fontsize=7)

    ax = axes[2]
    w = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256.0])
    r = RenewalHMM().sample_curves(w, 200, rng)
    m = MarkovHMM().sample_curves(w[:6], 200, rng)
    ax.loglog(w, r.mean("tv"), "-o", ms=3, color="tab:purple", label="renewal HMM (gamma = 1.5): E TV")
    ax.loglog(w, r.mean("bayes_kl"), "--", color="tab:purple", label="renewal HMM: Delta (KL)")
    ax.loglog(w[:6], m.mean("tv"), "-o", ms=3, color="tab:red", label="Markov HMM control: E TV")
    ax.loglog(w[:6], m.mean("bayes_kl"), "--", color="tab:red", label="Markov HMM control: Delta (KL)")
    ax.set_title("hidden Markov sources (exact filters, 200 paths)")
    ax.set_xlabel("window w (tokens)")
    ax.set_ylabel("distortion")
    ax.legend(fontsize=7)

    fig.tight_layout()
    fig.savefig(HERE / "sources.png", dpi=110)


def ratedistortion_figure() -> None:
    """Suffix-only memory against the optimal rate (Gaussian) and the filter state (HMM)."""
    from wzbounds.ratedistortion import dsbs, dsbs_wyner_ziv, gaussian_sequential, hamming, wyner_ziv_rates
    from wzbounds.ratedistortion.sequential import hmm_sequential

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    D = np.linspace(0, 0.25, 26)
    out = wyner_ziv_rates(dsbs(0.25), hamming(2), D)
    fine = np.linspace(0, 0.25, 400)
    ax.plot(fine, dsbs_wyner_ziv(0.25, fine) / np.log(2), color="grey", lw=3, alpha=0.5, label="R_WZ closed form")
    ax.plot(D, out.rate / np.log(2), "o", ms=4, label="R_WZ computed (wyner_ziv_rates)")
    from wzbounds.ratedistortion import binary_entropy
    ax.plot(fine, (binary_entropy(0.25) - binary_entropy(fine)) / np.log(2), "--", label="R_X|Y = h(p) - h(D)")
    ax.set_xlabel("Hamming distortion D")
    ax.set_ylabel("rate (bits)")
    ax.set_title("DSBS, p = 0.25: Wyner-Ziv above the conditional rate")
    ax.legend(fontsize=8)

    ax = axes[1]
    eps = np.geomspace(1e-2, 1e-8, 13)
    for src, color in [(ARFIMA(0.3), "tab:blue"), (PowerPACF(0.5, 0.8), "tab:green")]:
        g = gaussian_sequential(src, eps)
        ax.loglog(1 / eps, g.window, "-o", ms=3, color=color, label=f"suffix window (values), {src.name}")
        ax.loglog(1 / eps, g.rate / np.log(2), "--", color=color, label=f"optimal one-step rate (bits), {src.name}")
    ax.set_xlabel("1 / eps (excess log loss, nats)")
    ax.set_ylabel("window (values) or rate (bits)")
    ax.set_title("Gaussian sources: eps^(-1/beta) against log(1/eps)")
    ax.legend(fontsize=8)

    ax = axes[2]
    eps = np.geomspace(1e-2, 1e-6, 9)
    for src, color in [(MarkovHMM(), "tab:red"), (RenewalHMM(max_age=256, context=512), "tab:purple")]:
        h = hmm_sequential(src, eps, samples=200)
        ax.loglog(1 / eps, h.window_memory / np.log(2), "-o", ms=3, color=color, label=f"suffix window, {src.name}")
        ax.loglog(1 / eps, h.summary_memory / np.log(2), "--", color=color, label=f"quantised filter state, {src.name}")
    ax.set_xlabel("1 / eps (excess log loss, nats)")
    ax.set_ylabel("memory (bits)")
    ax.set_title("HMM sources (200 sampled paths)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "ratedistortion.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    sources_figure()
    ratedistortion_figure()
