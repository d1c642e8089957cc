"""faster_decay and less_memory (wzbounds.claims, `wzbounds compare`) on the worlds a skeptic names:
the same exponent with a better constant, a catch-up (worse at every budget, steeper), and a true
winner (steeper, better from the tenth window on). Worlds with a real curve's features: a bend
(C (w + 4)^-alpha: local slopes grow toward alpha) and a per-document spread of 60-100%
(log-normal), 200 paired documents on windows 1..1024."""

import json

import numpy as np
import pytest

from wzbounds.claims import faster_decay, less_memory, pair
from wzbounds.cli import main
from wzbounds.curves import Curves, write_csv

W = 2.0 ** np.arange(0, 11)
DOCS = tuple(f"doc{i}" for i in range(200))


def world(seed: int, C: float, alpha: float, spread: float = 0.7, n: int = 200) -> Curves:
    """Per-document curves C (w + 4)^-alpha times a document effect and a per-budget noise, both
    log-normal with mean one."""
    rng = np.random.default_rng(seed)
    doc = rng.lognormal(-spread**2 / 2, spread, (n, 1))
    noise = rng.lognormal(-0.08, 0.4, (n, W.size))
    return Curves(W, np.clip(C * (W + 4) ** -alpha * doc * noise, 0, 1), samples=DOCS[:n])


def paired(seed: int, C: float, alpha: float) -> tuple[Curves, Curves]:
    """A reference 0.6 (w+4)^-0.5 and a contender on the same documents: the same document effects
    (paired data), independent per-budget noise."""
    ref = world(seed, 0.6, 0.5)
    con = world(seed, C, alpha)  # same seed: the same document effects
    rng = np.random.default_rng(10_000 + seed)
    jitter = rng.lognormal(-0.02, 0.2, con.tv.shape)
    return ref, Curves(W, np.clip(con.tv * jitter, 0, 1), samples=con.samples)


WORLDS = {  # name: (C, alpha of the contender, the rule must not say holds, it must say holds)
    "same exponent, half the constant": (0.3, 0.5),
    "catch-up: steeper, worse at every budget": (6.0, 0.75),
    "steeper and better from the tenth window on": (0.6 * 14**0.3, 0.8),
}


def outcomes(name: str, draws: int, n_boot: int = 300) -> list[str]:
    C, alpha = WORLDS[name]
    return [faster_decay(*paired(seed, C, alpha), n_boot=n_boot, seed=seed).outcome for seed in range(draws)]


@pytest.mark.parametrize("name", list(WORLDS)[:2])
def test_faster_decay_never_holds_for_a_better_constant_or_a_catch_up(name):
    """0 of 40 draws (with a true rate of 5%, 0 of 40 has probability 13%: a rate above 5% would
    rarely pass; the slow test measures the rate on 1000 draws)."""
    got = outcomes(name, 40)
    assert got.count("holds") == 0, got


def test_faster_decay_holds_for_a_steeper_contender_that_is_better_from_the_tenth_window():
    C, alpha = WORLDS["steeper and better from the tenth window on"]
    ref, con = paired(0, C, alpha)
    assert (con.mean() < ref.mean())[W >= 16].all() and (con.mean() > ref.mean())[W <= 4].all()
    got = outcomes("steeper and better from the tenth window on", 40)
    assert got.count("holds") >= 38, got


def test_a_catch_up_is_said_to_be_one_and_a_better_constant_fails_or_is_inconclusive():
    catch = faster_decay(*paired(0, *WORLDS["catch-up: steeper, worse at every budget"]), n_boot=300)
    assert catch.outcome == "inconclusive" and "catch-up" in catch.reason
    same = faster_decay(*paired(0, *WORLDS["same exponent, half the constant"]), n_boot=300)
    assert same.outcome in ("fails", "inconclusive")


def test_faster_decay_needs_two_decades_of_budgets():
    ref, con = paired(0, *WORLDS["steeper and better from the tenth window on"])
    short = [Curves(W[:7], c.tv[:, :7], samples=c.samples) for c in (ref, con)]
    verdict = faster_decay(*short, n_boot=100)
    assert verdict.outcome == "inconclusive" and "span 1.81 decades" in verdict.reason


def test_less_memory_against_the_closed_form_memory_ratio():
    """Noiseless laws: a contender with half the constant on the same exponent 0.5 reaches eps at
    (1/2)^(1/0.5) = 1/4 of the reference's window; the interval collapses onto it."""
    ref = Curves(W, np.tile(0.6 * W**-0.5, (20, 1)))
    con = Curves(W, np.tile(0.3 * W**-0.5, (20, 1)))
    (v,) = less_memory(ref, con, eps=0.6 * 100**-0.5, n_boot=50)
    assert v.outcome == "holds" and v.numbers["ratio"] == pytest.approx(0.25, rel=1e-12)
    (worse,) = less_memory(con, ref, eps=0.6 * 100**-0.5, n_boot=50)
    assert worse.outcome == "fails" and worse.numbers["ratio"] == pytest.approx(4.0, rel=1e-12)
    (outside,) = less_memory(ref, con, eps=1e-6, n_boot=50)
    assert outside.outcome == "inconclusive" and "outside the measured range" in outside.reason


def test_less_memory_uses_the_memory_it_is_given():
    """Bytes instead of tokens: a contender storing each entry at a quarter of the bytes with the
    same curve needs a quarter of the memory."""
    ref = Curves(W, np.tile(0.6 * W**-0.5, (10, 1)))
    (v,) = less_memory(ref, ref, eps=0.6 * 100**-0.5, reference_memory=4 * W, contender_memory=W, n_boot=50)
    assert v.numbers["ratio"] == pytest.approx(0.25, rel=1e-12)


def test_less_memory_reads_each_curves_own_memory_and_refuses_mixed_units(tmp_path, capsys):
    """Memory carried by the curves (`Curves.memory`, # memory= in a file) is what the rule counts,
    through the API and through `wzbounds compare`; memory on one side only is two units."""
    from dataclasses import replace

    ref = Curves(W, np.tile(0.6 * W**-0.5, (10, 1)))
    (v,) = less_memory(replace(ref, memory=4 * W), replace(ref, memory=W), eps=0.6 * 100**-0.5, n_boot=50)
    assert v.numbers["ratio"] == pytest.approx(0.25, rel=1e-12)
    with pytest.raises(ValueError, match="memory is known for the reference only"):
        less_memory(replace(ref, memory=4 * W), ref, n_boot=50)
    write_csv(replace(ref, memory=4 * W), tmp_path / "ref.csv")
    write_csv(replace(ref, memory=W), tmp_path / "con.csv")
    assert main(["compare", str(tmp_path / "ref.csv"), str(tmp_path / "con.csv"), "--eps", "0.06", "--json",
                 "--n-boot", "50"]) == 0
    less = json.loads(capsys.readouterr().out)["verdicts"][1]
    assert less["numbers"]["ratio"] == pytest.approx(0.25, rel=1e-12)


def test_a_saturated_curve_is_not_decided_on_the_fit_range_it_saturates():
    """A contender whose compressed past covers the whole context from window 256 on (inside the fit
    range 32..1024) is not decided by faster_decay, whatever its interval; saturated below the fit
    range, it is."""
    from dataclasses import replace

    ref, con = paired(0, *WORLDS["steeper and better from the tenth window on"])
    assert faster_decay(ref, con, n_boot=200).outcome == "holds"
    full = faster_decay(ref, replace(con, saturated=W >= 256), n_boot=200)
    assert full.outcome == "inconclusive" and full.reason.startswith("not decided by rule: from budget 256 on")
    assert full.interval is not None and "estimate" not in full.numbers  # the ratio is kept, not decided on
    assert faster_decay(replace(ref, saturated=W >= 256), con, n_boot=200).outcome == "inconclusive"
    assert faster_decay(ref, replace(con, saturated=W <= 2), n_boot=200).outcome == "holds"


def test_fewer_than_eight_documents_decide_nothing():
    """Noiseless laws that both rules decide on 20 documents are not decided on 7 (MIN_SAMPLES)."""
    ref = Curves(W, np.tile(0.6 * (W + 4) ** -0.5, (20, 1)))
    con = Curves(W, np.tile(0.6 * (W + 4) ** -0.8, (20, 1)))
    assert faster_decay(ref, con, n_boot=50).outcome == "holds"
    assert less_memory(ref, con, n_boot=50)[0].outcome == "holds"
    few = [c.subset(range(7)) for c in (ref, con)]
    for v in (faster_decay(*few, n_boot=50), less_memory(*few, n_boot=50)[0]):
        assert v.outcome == "inconclusive" and v.reason.startswith("not decided by rule: 7 documents, fewer than 8")


def test_curves_pair_by_sample_name_not_by_row():
    ref = Curves(W[:4], np.array([[0.5, 0.4, 0.3, 0.2], [0.9, 0.8, 0.7, 0.6]]), samples=("a", "b"))
    con = Curves(W[:4], np.array([[0.8, 0.7, 0.6, 0.5], [0.4, 0.3, 0.2, 0.1]]), samples=("b", "a"))
    p = pair(ref, con)
    assert p.contender.tolist() == [[0.4, 0.3, 0.2, 0.1], [0.8, 0.7, 0.6, 0.5]] and p.samples == ("a", "b")
    with pytest.raises(ValueError, match="share 0 samples"):
        pair(ref, Curves(W[:4], con.tv, samples=("x", "y")))


def test_compare_on_files_prints_both_claims_and_json_verdicts(tmp_path, capsys):
    ref, con = paired(0, *WORLDS["steeper and better from the tenth window on"])
    write_csv(ref, tmp_path / "ref.csv")
    write_csv(Curves(W, con.tv[::-1], samples=con.samples[::-1]), tmp_path / "con.csv")  # rows in another order
    assert main(["compare", str(tmp_path / "ref.csv"), str(tmp_path / "con.csv"), "--n-boot", "300", "--json"]) == 0
    verdicts = {v["claim"]: v for v in json.loads(capsys.readouterr().out)["verdicts"]}
    assert verdicts["faster_decay"]["outcome"] == "holds" and verdicts["less_memory"]["outcome"] == "holds"
    assert main(["compare", str(tmp_path / "ref.csv"), str(tmp_path / "con.csv"), "--n-boot", "300",
                 "--eps", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "faster_decay: holds" in out and "eps = 0.05" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(WORLDS))
def test_faster_decay_error_rates_on_1000_draws(name):
    """The rates docs/arena.md quotes: holds-when-false <= 5% on the first two worlds, power >= 95% on
    the third."""
    got = outcomes(name, 1000)
    rate = got.count("holds") / len(got)
    print(f"{name}: holds {rate:.3f}, fails {got.count('fails') / len(got):.3f}, "
          f"inconclusive {got.count('inconclusive') / len(got):.3f}")
    assert (rate >= 0.95) if name.startswith("steeper") else (rate <= 0.05)


def test_documents_to_decide_is_the_square_law_of_the_half_width():
    """estimate 1.05 in [0.9, 1.3], claimed [0.81, 1.1]: the upper half-width 0.25 must shrink
    below the distance 0.05 to 1.1, a factor 5, so 25 times the 32 documents."""
    from wzbounds.verdict import decide_interval, documents_to_decide

    v = decide_interval("x", 0.9, 1.3, holds_within=(0.81, 1.1), reason="r", estimate=1.05)
    assert v.outcome == "inconclusive" and documents_to_decide(v, 32) == 800
    decided = decide_interval("x", 0.95, 1.05, holds_within=(0.81, 1.1), reason="r", estimate=1.0)
    assert decided.outcome == "holds" and documents_to_decide(decided, 32) is None
