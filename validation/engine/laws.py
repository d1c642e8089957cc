"""The full-context side of every comparison, and what is computed once per prefix.

Divergences are computed in float64 from the logits: TV and KL_mu for each mu.
The compared laws travel as raw logits (the model's dtype, half the memory of
float64 log-probabilities) and are normalised in float64 a block of rows at a
time, next to their use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from validation.data.bos import Bos

NO_BOS = Bos("never")


def _torch():
    import torch

    return torch


class FullSide:
    """The full-context laws at the targets, prepared once for many comparisons.

    KL_mu(p, q) = sum p^mu log p^mu - sum p^mu log q^mu, and with
    log q^mu = log(1-mu) + log(q + c), c = mu / ((1-mu) V), the cross term is
    (1-mu) <p, log(q + c)> + (mu/V) sum log(q + c) + log(1-mu): one temporary,
    one in-place log and one dot product per mu, all in float64.

    Beside them, the metrics llama.cpp's `--kl-divergence` reports, per target:
    kld = KL(p || q) = sum p (log p - log q) in nats (unsmoothed); same_top = 1 when
    argmax q = argmax p, else 0; and excess_nll = log p(x) - log q(x) for the actual
    next token x (`actual`, one per target; -1 where the text gives none: NaN), whose
    mean is log(PPL(q) / PPL(p)).
    """

    def __init__(self, logp, mus: Sequence[float], actual: Sequence[int] | None = None) -> None:
        self.logp = logp.double()
        self.p = self.logp.exp()
        self.V = self.p.shape[-1]
        self.actual = np.full(self.p.shape[0], -1, dtype=np.int64) if actual is None else np.asarray(actual, np.int64)
        if self.actual.shape != (self.p.shape[0],):
            raise ValueError(f"one actual next token per target: {self.p.shape[0]}; got {self.actual.shape}")
        self.mus = tuple(mus)
        self.neg_entropy = {}
        for mu in self.mus:
            ps = (1 - mu) * self.p + mu / self.V
            self.neg_entropy[mu] = (ps * ps.log()).sum(-1)

    BLOCK = 32  # rows per pass: keeps the float64 temporaries in cache (4x faster than 512 on a CPU)

    def compare(self, rows, logits) -> dict[str, np.ndarray]:
        """TV and KL_mu between the full laws at target rows `rows` and q = softmax(logits),
        in float64 (any logits of q do: log q itself, or the model's raw outputs)."""
        parts = [self._compare(rows[i : i + self.BLOCK], logits[i : i + self.BLOCK])
                 for i in range(0, len(rows), self.BLOCK)]
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def _compare(self, rows, logits) -> dict[str, np.ndarray]:
        torch = _torch()
        p = self.p[rows]
        logq = torch.log_softmax(logits.double(), dim=-1)
        q = logq.exp()
        diff = torch.sub(p, q).abs_()
        out = {"tv": (0.5 * diff.sum(-1)).cpu().numpy()}
        del diff
        logp = self.logp[rows]
        out["kld"] = torch.einsum("nv,nv->n", p, logp - logq).clamp_min(0.0).cpu().numpy()
        out["same_top"] = (logp.argmax(-1) == logq.argmax(-1)).double().cpu().numpy()
        actual = torch.as_tensor(self.actual[np.asarray(rows)], device=logp.device)
        index = actual.clamp_min(0)[:, None]
        excess = (logp.gather(-1, index) - logq.gather(-1, index))[:, 0]
        out["excess_nll"] = torch.where(actual >= 0, excess, torch.nan).cpu().numpy()
        for mu in self.mus:
            shifted = torch.add(q, mu / ((1 - mu) * self.V)).log_()
            cross = (1 - mu) * torch.einsum("nv,nv->n", p, shifted) + (mu / self.V) * shifted.sum(-1) + np.log1p(-mu)
            out[f"kl_{mu:g}"] = (self.neg_entropy[mu][rows] - cross).clamp_min(0.0).cpu().numpy()
        return out


@dataclass
class PrefixContext:
    """Everything computed once per prefix: tokens, targets, full laws, attention scores, the cache.

    With a `bos` (a resolved Bos), tokens[0] is its token: every context, full or kept, starts with it
    at position 0, and policies and budgets count the text tokens after it only."""

    tokens: np.ndarray
    targets: tuple[int, ...]
    full: FullSide
    attention: np.ndarray | None = None  # S[q, k]: attention mass summed over layers and heads
    bos: Bos = NO_BOS
    _cum: np.ndarray | None = field(default=None, repr=False)
    _prefill: list | None = field(default=None, repr=False)  # the prefix cache: (keys, values) per layer
    _recorded: dict = field(default_factory=dict, repr=False)  # t -> a recorded prefill of x_0..x_{t-1} (presses)

    def scores(self, kind: str, upto: int, window: int = 8) -> np.ndarray:
        """Per-key importance from the rows of queries <= upto (keys 0..upto+1; later keys 0)."""
        if self.attention is None:
            raise ValueError("attention scores were not computed for this prefix")
        if self._cum is None:
            self._cum = np.cumsum(self.attention, axis=0)
        n = upto + 2
        if kind == "last_query":
            row = self.attention[upto]
        elif kind == "accumulated":
            row = self._cum[upto]
        elif kind == "observation":
            lo = upto - window
            row = self._cum[upto] - (self._cum[lo] if lo >= 0 else 0.0)
        else:
            raise ValueError(f"unknown score kind {kind!r}")
        out = np.zeros(n)
        out[: min(n, row.size)] = row[:n]
        return out
