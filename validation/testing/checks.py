"""`check_policy`: the contract every cache policy keeps, checked from what it declares.

In the shape of scikit-learn's `check_estimator` (and wzbounds' `check_bound`): small
named checks, each a function returning a `Verdict`, chosen from the policy's
declarations (`validation.policies.base`), so a declaration the engine dispatches on is
never taken on trust. Every built-in policy, summary and press passes them
(tests/validation/test_policies.py, one table); the suite proves itself on
deliberately broken policies, each failing its own check.

For kept-set policies (kind "kept"), on steps t in `steps` and every budget:
    kept_sets        keep(t, budget) is sorted, distinct, in 0..t, holds t, and has
                     min(budget, t + 1) entries; with declared scores, also on random ones
    scores           a policy declaring no scores gives the same kept sets whatever scores
                     are passed; one declaring them refuses to run without them
    suffix_only      (declared) the kept set is the last min(budget, t + 1) positions
    sinks            (declared > 0) every kept set with room for the sinks and t holds the
                     first `sinks` positions
    uniform          (declared) the other kept positions, over 64 steps, are spread like
                     uniform draws from 0..t-1 (mean of pos/t within 0.05 of 1/2, and a
                     Kolmogorov-Smirnov distance to U(0, 1) below 0.1, on 512 draws)
    anchored_head    (declared) every kept set with room for the head and t is the head plus
                     one contiguous run ending at t
    static_online    (declared) the kept set is a function of (t, budget) alone and never
                     re-admits a position it evicted at an earlier step
    modes            the modes follow the kind: kept sets run recompute and evict, online
                     exactly when static_online; summaries run evict, and online exactly when
                     `streaming` (each built-in's streaming is tested against a step-by-step
                     simulation in tests/validation/test_summaries.py); presses run evict only
For summaries and presses (kinds "summary", "press"):
    modes            as above
    cache_bytes      positive, and non-decreasing in the budget
    saturated        once saturated at a budget, saturated at every larger one
Then, on the packaged tiny Llama (validation.testing.engine): full_budget, divergences and
methods_agree, in every mode the policy declares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from validation.policies.base import CachePolicy, Policy
from wzbounds.memory import KVGeometry
from wzbounds.verdict import Verdict, VerdictList, from_bool

STEPS = (0, 1, 2, 7, 31, 64)
GEOMETRY = KVGeometry(30, 3, 64, 4.0, "smollm2-135m")


@dataclass(frozen=True)
class PolicyReport(VerdictList):
    """Every check's verdict on a policy; `ok` when all hold."""

    policy: Policy
    verdicts: tuple[Verdict, ...] = field(default_factory=tuple)


def _scores(t: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random(t + 1)


def _kept(policy: CachePolicy, t: int, budget: int, rng: np.random.Generator) -> np.ndarray:
    return policy.keep(t, budget, _scores(t, rng) if policy.scores is not None else None)


def _each(policy: CachePolicy, steps, rule: Callable[[int, int, np.ndarray], str | None], claim: str,
          what: str, seed: int) -> Verdict:
    """Run `rule(t, budget, kept)` on every step and budget; the first complaint fails the check."""
    rng = np.random.default_rng(seed)
    for t in steps:
        for budget in range(1, t + 3):
            try:
                kept = _kept(policy, t, budget, rng)
            except ValueError as exc:
                return from_bool(claim, False, f"{policy.name}: {exc}")
            complaint = rule(t, budget, kept)
            if complaint:
                return from_bool(claim, False, f"{policy.name} at t = {t}, budget = {budget}: {complaint}")
    return from_bool(claim, True, f"{policy.name}: {what} on every step and budget checked")


def check_kept_sets(policy: CachePolicy, steps=STEPS, seed: int = 0) -> Verdict:
    def rule(t, budget, kept):
        want = min(budget, t + 1)
        if kept.size != want or np.any(np.diff(kept) <= 0) or kept[0] < 0 or kept[-1] != t:
            return f"kept {kept.tolist()[:12]}, not {want} sorted distinct positions in 0..{t} ending at {t}"
        return None

    return _each(policy, steps, rule, "kept_sets", "sorted, distinct, holding t, of the right size", seed)


def check_scores(policy: CachePolicy, steps=STEPS, seed: int = 0) -> Verdict:
    rng = np.random.default_rng(seed)
    t = max(steps)
    if policy.scores is not None:
        try:
            policy.keep(t, max(1, t // 2), None)
        except ValueError:
            return from_bool("scores", True, f"{policy.name}: declares {policy.scores!r} scores and refuses to run "
                             "without them")
        return from_bool("scores", False, f"{policy.name}: declares {policy.scores!r} scores but ran without them")
    for budget in range(1, t + 1):
        a, b = policy.keep(t, budget, rng.random(t + 1)), policy.keep(t, budget, rng.random(t + 1))
        if not np.array_equal(a, b):
            return from_bool("scores", False, f"{policy.name}: declares no scores, but its kept set at t = {t}, "
                             f"budget = {budget} changes with the scores passed")
    return from_bool("scores", True, f"{policy.name}: declares no scores and reads none")


def check_suffix_only(policy: CachePolicy, steps=STEPS, seed: int = 0) -> Verdict:
    def rule(t, budget, kept):
        want = np.arange(t + 1 - min(budget, t + 1), t + 1)
        return None if np.array_equal(kept, want) else f"kept {kept.tolist()[:12]}, not the last {want.size} positions"

    return _each(policy, steps, rule, "suffix_only", "the last min(budget, t + 1) positions", seed)


def check_sinks(policy: CachePolicy, steps=STEPS, seed: int = 0) -> Verdict:
    sinks = int(policy.sinks)

    def rule(t, budget, kept):
        first = np.arange(min(sinks, t + 1))
        if budget > sinks and not np.all(np.isin(first, kept)):
            return f"kept {kept.tolist()[:12]}, without the first {first.size} positions (its sinks)"
        return None

    return _each(policy, steps, rule, "sinks", f"the first {sinks} positions whenever the budget has room", seed)


UNIFORM_STEPS, UNIFORM_BUDGET = range(128, 192), 9  # 64 steps x 8 drawn positions: 512 draws


def check_uniform(policy: CachePolicy, seed: int = 0) -> Verdict:
    """The positions other than t, as fractions u = pos / t, against U(0, 1): a policy favouring
    recent (u near 1) or early (near 0) positions fails; 512 uniform draws pass with room (the
    mean's sd is 0.013, the KS distance's 99% point 0.072)."""
    rng = np.random.default_rng(seed)
    u = np.sort(np.concatenate([np.setdiff1d(_kept(policy, t, UNIFORM_BUDGET, rng), [t]) / t for t in UNIFORM_STEPS]))
    ks = float(np.max(np.maximum(np.arange(1, u.size + 1) / u.size - u, u - np.arange(u.size) / u.size)))
    ok = abs(float(u.mean()) - 0.5) <= 0.05 and ks < 0.1
    return from_bool("uniform", ok, f"{policy.name}: kept positions / t have mean {u.mean():.3f} and KS distance "
                     f"{ks:.3f} to U(0, 1) over {u.size} draws (uniform: within 0.05 of 0.5, below 0.1)")


def check_anchored_head(policy: CachePolicy, steps=STEPS, seed: int = 0) -> Verdict:
    head = np.asarray(policy.anchored_head(), dtype=np.int64)

    def rule(t, budget, kept):
        fixed = head[head < t]
        if budget >= t + 1 or budget <= fixed.size:  # the whole prefix, or no room for the head and t:
            return None  # the engine runs these kept sets without the anchor
        rest = np.setdiff1d(kept, fixed)
        if not np.all(np.isin(fixed, kept)) or not np.array_equal(rest, np.arange(t + 1 - rest.size, t + 1)):
            return f"kept {kept.tolist()[:12]}, not the head {head.tolist()} plus one run ending at {t}"
        return None

    return _each(policy, steps, rule, "anchored_head", f"the head {head.tolist()} plus one run ending at t", seed)


def check_static_online(policy: CachePolicy, steps=STEPS, seed: int = 0) -> Verdict:
    rng = np.random.default_rng(seed)
    T = max(steps)
    for budget in (1, 2, 3, 8, 17):
        evicted: set[int] = set()
        for t in range(T + 1):
            try:
                a = policy.keep(t, budget, rng.random(t + 1))
                b = policy.keep(t, budget, rng.random(t + 1))
            except ValueError as exc:
                return from_bool("static_online", False, f"{policy.name}: {exc}")
            if not np.array_equal(a, b):
                return from_bool("static_online", False, f"{policy.name}: declares static_online, but its kept set "
                                 f"at t = {t}, budget = {budget} is not a function of (t, budget)")
            back = evicted & set(a.tolist())
            if back:
                return from_bool("static_online", False, f"{policy.name}: declares static_online, but re-admits "
                                 f"{sorted(back)[:5]} at t = {t}, budget = {budget} after evicting them")
            evicted |= set(range(t + 1)) - set(a.tolist())
    return from_bool("static_online", True, f"{policy.name}: its kept sets depend on (t, budget) only and never "
                     "re-admit an evicted position")


def check_modes(policy: Policy) -> Verdict:
    if policy.kind == "kept":
        want = ("recompute", "evict", "online") if policy.static_online else ("recompute", "evict")
    elif policy.kind == "summary":
        want = ("evict", "online") if policy.streaming else ("evict",)
    else:
        want = ("evict",)
    return from_bool("modes", tuple(policy.modes) == want, f"{policy.name} ({policy.kind}): modes "
                     f"{tuple(policy.modes)}, declared kind, static_online and streaming give {want}")


def check_cache_bytes(policy: Policy, t: int = 511, kv: KVGeometry = GEOMETRY) -> Verdict:
    budgets = (1, 2, 4, 8, 16, 64, 256, 512)
    got = np.array([policy.cache_bytes(t, b, kv) for b in budgets])
    ok = bool(np.all(got > 0) and np.all(np.diff(got) >= 0))
    return from_bool("cache_bytes", ok, f"{policy.name}: bytes at budgets {list(budgets)} (t = {t}): "
                     f"{got.tolist()}; must be positive and non-decreasing")


def check_saturated(policy: Policy, t: int = 511, kv: KVGeometry = GEOMETRY) -> Verdict:
    flags = [bool(policy.saturated(t, b, kv)) for b in range(1, t + 2)]
    first = flags.index(True) if True in flags else None
    ok = first is None or all(flags[first:])
    return from_bool("saturated", ok, f"{policy.name}: saturated from budget "
                     f"{'never' if first is None else first + 1}{'' if ok else ', then not again'}")


def policy_checks(policy: Policy) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    """(name, check) pairs chosen from the policy's declarations (module docstring)."""
    yield "modes", lambda: check_modes(policy)
    if isinstance(policy, CachePolicy):
        yield "kept_sets", lambda: check_kept_sets(policy)
        yield "scores", lambda: check_scores(policy)
        if policy.suffix_only:
            yield "suffix_only", lambda: check_suffix_only(policy)
        if policy.sinks:
            yield "sinks", lambda: check_sinks(policy)
        if policy.uniform:
            yield "uniform", lambda: check_uniform(policy)
        if policy.anchored_head() is not None:
            yield "anchored_head", lambda: check_anchored_head(policy)
        if policy.static_online:
            yield "static_online", lambda: check_static_online(policy)
    else:
        yield "cache_bytes", lambda: check_cache_bytes(policy)
        yield "saturated", lambda: check_saturated(policy)


def check_policy(policy: Policy, *, on_model: bool = True, lm=None) -> PolicyReport:
    """Every check the policy's declarations call for; `report.ok` when all hold, and
    `report.failures()` says which broke and where. With `on_model` (the default), also the
    engine checks (validation.testing.engine): the policy run in every mode it declares on the
    packaged tiny Llama, or on `lm` (a LoadedModel)."""
    if not isinstance(policy, Policy):
        raise ValueError(f"check_policy takes a policy instance (a validation.policies.base.Policy); got {policy!r}")
    verdicts = [_run(name, check, policy) for name, check in policy_checks(policy)]
    if on_model:
        from validation.testing.engine import engine_checks

        verdicts += [_run(name, check, policy, (Exception,)) for name, check in engine_checks(policy, lm)]
    return PolicyReport(policy, tuple(verdicts))


def _run(name: str, check: Callable[[], Verdict], policy: Policy,
         broken: tuple[type[Exception], ...] = (ValueError,)) -> Verdict:
    """A check; an exception of `broken` the policy raises on the way (a broken contract; on the
    model, any error the engine meets running it) fails that check, named."""
    try:
        return check()
    except broken as exc:
        return from_bool(name, False, f"{policy.name}: {type(exc).__name__}: {exc}")
