"""Every claim's wrong-verdict rate on worlds resampled from the committed real panels (docs/panels/,
SmolLM2-135M, quick and standard presets): for each claim, worlds where it is true and worlds where
it is false near its band's edges (wzbounds.claims.calibration). A wrong verdict is "holds" when the
claim is false or "fails" when it is true; the rate is bounded at 5%: over 1000 draws in the slow
suite, and in the fast suite over fewer draws by the binomial bound (a count a true 5% rate exceeds
with probability under 1e-3). The same harness is shown to catch broken rules."""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

from wzbounds.assumptions import check_assumptions
from wzbounds.claims.calibration import World, read_panels, worlds, wrong_verdict_rates
from wzbounds.fit import law_preference_interval
from wzbounds.verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict

PANELS = Path(__file__).resolve().parents[1] / "docs" / "panels"
ROLES = {"sliding": "sliding_recompute_preserved", "sink": "sink_recompute_preserved",
         "random": "random_recompute_preserved", "evict": "heavy_evict_preserved"}
SIZES = ("quick", "standard")
DOMAINS = ("natural", "code")


def panels(size: str, domain: str):
    return read_panels(PANELS / size / domain / "main", ROLES)


def every_world(n_boot: int = 200) -> list[World]:
    return [w for size in SIZES for domain in DOMAINS for w in worlds(panels(size, domain), size=f"{size} {domain}",
                                                                       n_boot=n_boot)]


def bound(draws: int, rate: float = 0.05, alpha: float = 1e-3) -> int:
    """The largest wrong count a true `rate` reaches with probability >= alpha."""
    return int(binom.isf(alpha, draws, rate))


def test_the_committed_panels_are_paired_real_measurements():
    for size in SIZES:
        for domain in DOMAINS:
            p = panels(size, domain)
            assert p["sliding"].n_samples >= 32 and p["sliding"].kl is not None
            assert all(c.samples == p["sliding"].samples for c in p.values())
            assert np.all(np.diff(p["sliding"].mean("tv")) < 0)  # the measured window curve decays


def test_every_claim_has_a_true_and_a_false_world_at_both_sizes():
    ws = every_world()
    claims = {"power_law", "theta_band", "alpha_tv", "alpha_paper", "kl_doubling", "bound_prediction",
              "position_ablation", "sink_recovery", "recency_vs_random", "recency_two_orders", "faster_decay",
              "less_memory"}
    for size in SIZES:
        here = [w for w in ws if w.size.startswith(size)]
        assert {(w.claim, w.truth) for w in here} == {(c, t) for c in claims for t in (True, False)}


def test_wrong_verdicts_are_within_the_binomial_bound_of_5_percent():
    draws = 30
    rates = wrong_verdict_rates(every_world(n_boot=200), draws, seed=11)
    worst = max(rates, key=lambda r: r.wrong)
    assert worst.wrong <= bound(draws), worst


@pytest.mark.slow
def test_wrong_verdicts_are_at_most_5_percent_over_1000_draws():
    """The table in docs/validation.md (python docs/measure_claims.py --draws 1000 prints it)."""
    rates = wrong_verdict_rates(every_world(), 1000, seed=2026)
    assert all(r.wrong <= 50 for r in rates), [r for r in rates if r.wrong > 50]


def _always(outcome: str):
    return lambda g, seed: Verdict("x", outcome, "a broken rule")


def _geometric_only(curves, seed):
    """power_law as it was before the stretched exponential and the bend: the power law only has to
    extrapolate better than a geometric law."""
    pref = law_preference_interval(curves, "tv", n_boot=200, seed=seed)
    return Verdict("power_law", HOLDS if pref.low > 0 else FAILS if pref.high < 0 else INCONCLUSIVE, "old", None)


def test_the_harness_catches_broken_rules():
    """Proved both ways: a rule that always holds is caught on a false world, one that always fails
    on a true world, and the old power-law rule on the stretched-exponential and logarithmic worlds."""
    ws = worlds(panels("standard", "natural"), size="standard natural")
    draws = 30
    true_world = next(w for w in ws if w.claim == "power_law" and w.truth)
    false_world = next(w for w in ws if w.claim == "power_law" and not w.truth)
    broken = [World("power_law", "always holds", False, _always(HOLDS)),
              World("power_law", "always fails", True, _always(FAILS))]
    assert all(r.wrong > bound(draws) for r in wrong_verdict_rates(broken, draws))
    assert true_world.truth and not false_world.truth
    source = panels("standard", "natural")["sliding"]
    from wzbounds.claims.calibration import Spread, alternatives

    spread = Spread.of(source)
    for name in ("stretched exponential", "logarithmic"):
        f = alternatives(source.windows, spread.mean_tv)[name]
        old = World("power_law", f"{name}, old rule", False,
                    lambda g, seed, f=f: _geometric_only(spread.draw(g.integers(0, 32, 32), f), seed))
        assert wrong_verdict_rates([old], draws)[0].wrong > bound(draws), name
        new = check_assumptions(spread.draw(np.arange(32), f), n_boot=200).verdict("PTS")
        assert new.outcome != HOLDS, name
