"""Every claim's verdict logic on synthetic curves whose truth is known (tests/validation/known_answers.py),
over repeated draws at the quick preset's sample size: the rate of wrong verdicts (holds when the
claim is false, fails when it is true) is measured and bounded."""

import numpy as np
import pytest

from tests.validation.known_answers import TRUTH, geometric_world, power_world
from validation.claims import decide
from wzbounds.memory import KVGeometry

KV = KVGeometry(30, 3, 64, 4.0, "smollm2-like")


def outcomes(data, seed):
    return {f.name: f.outcome for f in decide(data, KV, n_boot=300, seed=seed)}


def wrong(name, outcome, truth):
    return (outcome == "holds" and not truth) or (outcome == "fails" and truth)


def test_three_documents_are_inconclusive_on_every_claim():
    got = outcomes(power_world(np.random.default_rng(1), n=3), 0)
    assert set(got.values()) == {"inconclusive"}


def test_the_geometric_hmm_fails_the_power_law():
    got = outcomes(geometric_world(np.random.default_rng(2)), 0)
    assert got["power_law"] == "fails"


def rates(draws: int, seed0: int = 100) -> dict[str, tuple[int, int]]:
    """claim -> (wrong verdicts, inconclusive verdicts) over `draws` repetitions of each world."""
    out = {name: [0, 0] for name in TRUTH}
    out["power_law (geometric HMM)"] = [0, 0]
    for r in range(draws):
        got = outcomes(power_world(np.random.default_rng(seed0 + r)), r)
        for name, truth in TRUTH.items():
            out[name][0] += wrong(name, got[name], truth)
            out[name][1] += got[name] == "inconclusive"
        geo = outcomes(geometric_world(np.random.default_rng(10_000 + seed0 + r)), r)["power_law"]
        out["power_law (geometric HMM)"][0] += geo == "holds"
        out["power_law (geometric HMM)"][1] += geo == "inconclusive"
    return {k: tuple(v) for k, v in out.items()}


DECISIVE = ("alpha_tv", "position_ablation", "recency_vs_random", "recency_two_orders",
            "power_law (geometric HMM)")  # decided on nearly every draw at n = 32


def test_wrong_verdicts_are_at_most_five_percent_over_100_draws():
    measured = rates(100)
    assert all(w <= 5 for w, _ in measured.values()), measured
    assert all(measured[name][1] <= 5 for name in DECISIVE), measured  # and they have power
    # power_law also checks that the local exponent does not fall (sub-polynomial decay): at 32
    # documents of one target each that costs power (26 of 100 inconclusive when it came in)
    assert measured["power_law"][1] <= 40, measured
    # faster_decay needs two decades of budgets; the quick grid 1..64 spans 1.8: inconclusive by rule
    # (its power is measured on 1..1024 in tests/test_claims.py)
    assert measured["propagating_sliding_evict"][1] == 100, measured


@pytest.mark.slow
def test_wrong_verdict_rates_over_1000_draws():
    """The rates quoted in docs/validation.md (python docs/measure_verdicts.py prints them)."""
    measured = rates(1000, seed0=5000)
    assert all(w <= 50 for w, _ in measured.values()), measured
