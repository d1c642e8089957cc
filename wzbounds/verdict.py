"""The one verdict type: what a check decided about a claim, from which numbers, and why.

Every claim wzbounds decides (a conformance check on a bound, a hypothesis
on measured curves, a validation claim on a real model) returns a `Verdict`:

    outcome   "holds", "fails" or "inconclusive"
    reason    one sentence a user can quote
    interval  (low, high) of the quantity the claim is about, when it is an estimate
    numbers   the other numbers the decision used (named)

A claim about an estimated quantity is decided from its interval: it holds
when the whole interval lies on the claim's side, fails when the whole
interval lies on the other side, and is inconclusive otherwise. The data
never "fail" a claim they cannot decide (`decide_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_SAMPLES = 8  # fewer samples (documents) than this: a percentile bootstrap over them is too narrow to trust

HOLDS = "holds"
FAILS = "fails"
INCONCLUSIVE = "inconclusive"
OUTCOMES = (HOLDS, FAILS, INCONCLUSIVE)


@dataclass(frozen=True)
class Verdict:
    """A decided claim (see the module docstring)."""

    claim: str
    outcome: str
    reason: str
    interval: tuple[float, float] | None = None
    numbers: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}; got {self.outcome!r}")
        if self.interval is not None:
            low, high = (float(v) for v in self.interval)
            if not low <= high:
                raise ValueError(f"interval must have low <= high; got ({low!r}, {high!r})")
            object.__setattr__(self, "interval", (low, high))

    @property
    def holds(self) -> bool | None:
        """True (holds), False (fails) or None (inconclusive)."""
        return {HOLDS: True, FAILS: False, INCONCLUSIVE: None}[self.outcome]

    def __bool__(self) -> bool:
        return self.outcome == HOLDS

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "outcome": self.outcome, "reason": self.reason,
                "interval": None if self.interval is None else list(self.interval), "numbers": dict(self.numbers)}


class VerdictList:
    """What a report holding `verdicts` (a tuple of Verdict) answers: `ok` when every one holds,
    the `failures`, and one `verdict` by its claim (check_bound's and check_policy's reports)."""

    verdicts: tuple[Verdict, ...]

    @property
    def ok(self) -> bool:
        return all(v.holds for v in self.verdicts)

    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.holds]

    def verdict(self, claim: str) -> Verdict:
        for v in self.verdicts:
            if v.claim == claim:
                return v
        raise KeyError(claim)


def from_bool(claim: str, ok: bool, reason: str, **numbers: Any) -> Verdict:
    """A verdict on an exact check (no estimate): holds or fails."""
    return Verdict(claim, HOLDS if ok else FAILS, reason, None, numbers)


def decide_interval(
    claim: str, low: float, high: float, *, holds_within: tuple[float, float], reason: str, **numbers: Any
) -> Verdict:
    """Decide a claim "the quantity lies in [a, b]" from the quantity's interval [low, high].

    holds         [low, high] within [a, b]
    fails         [low, high] disjoint from [a, b]
    inconclusive  otherwise: the data allow both
    `reason` is completed with the interval and the outcome's explanation.
    """
    a, b = holds_within
    if a <= low and high <= b:
        outcome, why = HOLDS, "the whole interval lies in the claimed range"
    elif high < a or low > b:
        outcome, why = FAILS, "the whole interval lies outside the claimed range"
    else:
        outcome, why = INCONCLUSIVE, "the interval straddles the claimed range: the data cannot decide"
    text = f"{reason}: interval [{low:.4g}, {high:.4g}], claimed [{a:.4g}, {b:.4g}]; {why}"
    return Verdict(claim, outcome, text, (low, high), {**numbers, "claimed": (float(a), float(b))})


def undecided(verdict: Verdict, why: str) -> Verdict:
    """The verdict made inconclusive by a rule, `why` first: its interval and numbers are kept, not
    its estimate and claimed range (so `documents_to_decide` counts no documents for it)."""
    return Verdict(verdict.claim, INCONCLUSIVE, f"{why}. {verdict.reason}", verdict.interval,
                   {k: v for k, v in verdict.numbers.items() if k not in ("estimate", "claimed")})


def too_few(n_samples: int) -> str | None:
    """Why a rule over n_samples samples is not decided (fewer than MIN_SAMPLES), else None."""
    if n_samples >= MIN_SAMPLES:
        return None
    return f"not decided by rule: {n_samples} documents, fewer than {MIN_SAMPLES}"


def documents_to_decide(verdict: Verdict, n_documents: int) -> int | None:
    """Roughly how many documents would decide an inconclusive interval verdict: the interval's
    half-width toward the nearest end of the claimed range, h, shrinks as 1/sqrt(n), so it clears
    that end, at distance d from the estimate, near n (h / d)^2. None when the verdict is decided,
    has no interval, estimate or claimed range, or its estimate sits on an end."""
    numbers = verdict.numbers
    if verdict.outcome != INCONCLUSIVE or verdict.interval is None or "claimed" not in numbers \
            or "estimate" not in numbers:
        return None
    est, (low, high) = float(numbers["estimate"]), verdict.interval
    ends = [e for e in numbers["claimed"] if math.isfinite(e)]
    if not ends or not low <= est <= high:
        return None
    edge = min(ends, key=lambda e: abs(e - est))
    d = abs(edge - est)
    h = (high - est) if edge > est else (est - low)
    if d == 0 or h <= 0:
        return None
    return max(int(math.ceil(n_documents * (h / d) ** 2)), n_documents + 1)
