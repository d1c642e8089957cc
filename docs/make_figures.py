"""Regenerate the figures of docs/sources.md: `python docs/make_figures.py`."""

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


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    sources_figure()
