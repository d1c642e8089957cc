"""The policy contract on a model: a policy run through the engine on the packaged tiny Llama
(validation.testing.tiny), in every mode it declares.

    full_budget     at a budget above the prefix, every mode the policy runs in gives the
                    full-context law: TV < 1e-5 at every target
    divergences     at small budgets the divergences are numbers: TV in [0, 1], KL_mu >= 0
    methods_agree   the engine's fast methods equal its references, to 1e-5 in TV: recompute
                    anchored = naive (a declared anchored head), evict masked = pairs (kept
                    sets), online masked = token by token (static_online), summaries
                    carried online batched = one at a time (streaming), press replay =
                    prefill under the press (presses)

Each a `Verdict`; a ValueError on the way fails the check it happened in. Needs torch and
transformers (the validation extra); presses need kvpress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from validation.policies.base import Policy
from wzbounds.verdict import Verdict, from_bool

PREFIX, TARGETS, SMALL, FULL = 96, 3, (2, 5, 9), 128  # tokens (past kvpress's 64-token windows),
# targets at the end of the prefix, budgets below it and one above
TOLERANCE = 1e-5  # TV, float32 forwards compared in float64


def _tokens(bos: int | None) -> list[int]:
    rng = np.random.default_rng(0)
    text = rng.integers(97, 123, size=PREFIX).tolist()  # lower-case letters: byte ids of the tiny tokenizer
    return ([bos] if bos is not None else []) + text


class _Run:
    """The tiny model, its engine and one prefix context, built on first use and shared by the checks."""

    def __init__(self, policy: Policy, lm=None) -> None:
        self.policy, self._lm = policy, lm
        self._engine = self._ctx = None

    @property
    def engine(self):
        if self._engine is None:
            from validation.engine import Engine
            from validation.testing.tiny import tiny_model

            self._engine = Engine(self._lm or tiny_model())
        return self._engine

    @property
    def ctx(self):
        if self._ctx is None:
            bos = self.engine.lm.resolve_bos("auto")
            self._ctx = self.engine.context(_tokens(bos.token), TARGETS, scores=self.policy.scores is not None, bos=bos)
        return self._ctx

    def divergences(self, mode: str, budgets, method: str = "auto") -> np.ndarray:
        """(rows, 1 + mus): TV then each KL_mu, one row per (target, budget)."""
        e, ctx, p = self.engine, self.ctx, self.policy
        if mode == "recompute":
            rows = e.recompute(ctx, p, budgets, "preserved", method=method)
        elif mode == "evict":
            rows = e.evict(ctx, p, budgets, method=method)
        else:
            rows = e.online(ctx, p, budgets, method=method)
        return np.array([[r["tv"], *(r[k] for k in r if k.startswith("kl_"))] for r in rows])


def check_full_budget(run: _Run) -> Verdict:
    worst = {mode: float(run.divergences(mode, (FULL,))[:, 0].max()) for mode in run.policy.modes}
    ok = all(v < TOLERANCE for v in worst.values())
    return from_bool("full_budget", ok, f"{run.policy.name}: largest TV at budget {FULL} over a {PREFIX}-token "
                     f"prefix, per mode: {', '.join(f'{m} {v:.2g}' for m, v in worst.items())} (must be < {TOLERANCE:g})")


def check_divergences(run: _Run) -> Verdict:
    for mode in run.policy.modes:
        d = run.divergences(mode, SMALL)
        tv, kl = d[:, 0], d[:, 1:]
        if not (np.all(np.isfinite(d)) and np.all((tv >= 0) & (tv <= 1)) and np.all(kl >= 0)):
            return from_bool("divergences", False, f"{run.policy.name} ({mode}): TV {tv.tolist()[:6]}, KL "
                             f"{kl.ravel().tolist()[:6]}: not all finite with TV in [0, 1] and KL >= 0")
    return from_bool("divergences", True, f"{run.policy.name}: TV in [0, 1] and KL_mu >= 0 at budgets {list(SMALL)} "
                     f"in {', '.join(run.policy.modes)} mode")


def _pairs(policy: Policy) -> Iterator[tuple[str, str, str]]:
    """(mode, fast method, reference method) the policy's declarations call for."""
    if policy.kind == "press":
        yield "evict", "replay", "prefill"
    elif policy.kind == "summary" and "online" in policy.modes:
        yield "online", "batched", "tokens"
    elif policy.kind == "kept":
        if policy.anchored_head() is not None:
            yield "recompute", "anchored", "naive"
        yield "evict", "masked", "pairs"
        if policy.static_online:
            yield "online", "masked", "tokens"


def check_methods_agree(run: _Run) -> Verdict:
    gaps = []
    for mode, fast, ref in _pairs(run.policy):
        gap = float(np.abs(run.divergences(mode, SMALL, fast)[:, 0] - run.divergences(mode, SMALL, ref)[:, 0]).max())
        gaps.append(f"{mode} {fast} - {ref}: {gap:.2g}")
        if not gap < TOLERANCE:
            return from_bool("methods_agree", False, f"{run.policy.name}: {gaps[-1]} in TV (must be < {TOLERANCE:g})")
    return from_bool("methods_agree", True, f"{run.policy.name}: " + ("; ".join(gaps) if gaps else "one method only"))


def engine_checks(policy: Policy, lm=None) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    """(name, check) pairs on the tiny model (or `lm`), chosen from the policy's declarations."""
    run = _Run(policy, lm)
    yield "full_budget", lambda: check_full_budget(run)
    yield "divergences", lambda: check_divergences(run)
    if any(True for _ in _pairs(policy)):
        yield "methods_agree", lambda: check_methods_agree(run)
