"""The policy contract (validation.testing.check_policy): one table of every built-in policy, summary
and press passing every check its declarations call for, and the suite proving itself on broken
policies, each failing its own check (as scikit-learn's estimator checks do)."""

import importlib.util
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from validation.policies import POLICIES, make_policy, parse_policy
from validation.policies.base import CachePolicy
from validation.policies.pooling import PooledBlocks
from validation.policies.presses import DEFAULT_PRESSES
from validation.policies.summaries import CacheState
from validation.testing import check_policy, policy_checks

BUILT_INS = ["sliding", "sink", "sink:n_sink=1", "random", "random:seed=7", "heavy", "h2o", "snapkv",
             "snapkv:window=4,kernel=3", "merge", "pooled", "quantized", "merge:sink=4", "pooled:sink=4,block=4",
             "quantized:sink=2,bits=4", "multiscale", "multiscale:sink=2,block=1", "kivi", "kivi:bits=4,group=8",
             "merge:bonus=false"]
HAS_KVPRESS = importlib.util.find_spec("kvpress") is not None


def test_the_table_names_every_registered_policy():
    assert {spec.partition(":")[0] for spec in BUILT_INS} | {"kvpress"} == set(POLICIES)


@pytest.mark.parametrize("spec", BUILT_INS)
def test_every_built_in_keeps_its_contract(spec):
    report = check_policy(parse_policy(spec))
    assert report.ok, [v.reason for v in report.failures()]


@pytest.mark.skipif(not HAS_KVPRESS, reason="needs kvpress (the kvpress environment runs it)")
@pytest.mark.parametrize("press", DEFAULT_PRESSES)
def test_every_default_press_keeps_its_contract(press):
    report = check_policy(parse_policy(f"kvpress:{press}"))
    assert report.ok, [v.reason for v in report.failures()]


def test_the_checks_follow_the_declarations():
    assert [n for n, _ in policy_checks(make_policy("sliding"))] == ["modes", "kept_sets", "scores", "suffix_only",
                                                                     "anchored_head", "static_online"]
    assert [n for n, _ in policy_checks(make_policy("sink"))] == ["modes", "kept_sets", "scores", "sinks",
                                                                  "anchored_head", "static_online"]
    assert [n for n, _ in policy_checks(make_policy("random"))] == ["modes", "kept_sets", "scores", "uniform"]
    assert [n for n, _ in policy_checks(make_policy("heavy"))] == ["modes", "kept_sets", "scores"]
    assert [n for n, _ in policy_checks(make_policy("merge"))] == ["modes", "cache_bytes", "saturated"]


def test_the_engine_checks_follow_the_declarations_too():
    names = lambda spec: [v.claim for v in check_policy(parse_policy(spec)).verdicts][-3:]  # noqa: E731
    assert names("sliding") == ["full_budget", "divergences", "methods_agree"]
    assert names("merge") == ["full_budget", "divergences", "methods_agree"]  # carried: batched = one at a time
    assert names("quantized")[-2:] == ["full_budget", "divergences"]  # not streaming: evict only, one method
    assert "full_budget" not in {v.claim for v in check_policy(make_policy("sliding"), on_model=False).verdicts}


@dataclass(frozen=True)
class TooMany(CachePolicy):
    name: ClassVar[str] = "too_many"

    def choose(self, t, budget, scores):
        return np.arange(max(0, t - budget), t + 1)  # one more than the budget


@dataclass(frozen=True)
class NoQuery(CachePolicy):
    name: ClassVar[str] = "no_query"

    def choose(self, t, budget, scores):
        return np.arange(budget)  # the first positions, t left out


@dataclass(frozen=True)
class SecretScores(CachePolicy):
    """Declares no scores but reads them when they are passed."""

    name: ClassVar[str] = "secret_scores"

    def choose(self, t, budget, scores):
        if scores is None:
            return np.arange(t - budget + 1, t + 1)
        return np.append(np.argsort(scores[:t])[-(budget - 1):] if budget > 1 else [], t).astype(int)


@dataclass(frozen=True)
class FakeSuffix(CachePolicy):
    name: ClassVar[str] = "fake_suffix"
    suffix_only: ClassVar[bool] = True

    def choose(self, t, budget, scores):
        return np.append(np.arange(budget - 1), t)


@dataclass(frozen=True)
class FakeAnchored(CachePolicy):
    name: ClassVar[str] = "fake_anchored"

    def anchored_head(self):
        return ()

    def choose(self, t, budget, scores):
        return np.append(np.arange(0, t, 2)[-(budget - 1):] if budget > 1 else [], t).astype(int)


@dataclass(frozen=True)
class Readmits(CachePolicy):
    """Declares static_online but keeps the even positions at even steps, the odd ones at odd steps."""

    name: ClassVar[str] = "readmits"
    static_online: ClassVar[bool] = True

    def choose(self, t, budget, scores):
        same = np.arange(t - 2, -1, -2)[: budget - 1]
        other = np.setdiff1d(np.arange(t), same)[::-1][: budget - 1 - same.size]
        return np.concatenate([same, other, [t]]).astype(int)


@dataclass(frozen=True)
class LostSinks(CachePolicy):
    """Declares 4 sinks but keeps the window."""

    name: ClassVar[str] = "lost_sinks"

    @property
    def sinks(self):
        return 4

    def choose(self, t, budget, scores):
        return np.arange(t - budget + 1, t + 1)


@dataclass(frozen=True)
class RecentBiased(CachePolicy):
    """Declares uniform draws but draws from the most recent half only."""

    name: ClassVar[str] = "recent_biased"
    uniform: ClassVar[bool] = True

    def choose(self, t, budget, scores):
        rng = np.random.default_rng([t, budget])
        return np.append(rng.choice(np.arange(t // 2, t), size=budget - 1, replace=False), t)


@dataclass(frozen=True)
class HalvedValues(PooledBlocks):
    """A summary that halves every value it keeps: not the full-context law even with room for everything."""

    name: ClassVar[str] = "halved_values"

    def summarise(self, layers, t, budget, bos=False):
        state = super().summarise(layers, t, budget, bos)
        return CacheState(state.keys, tuple(v * 0.5 for v in state.values), state.log_mass, state.positions)


class WrongModes(TooMany):
    @property
    def modes(self):
        return ("evict",)


@pytest.mark.parametrize(("policy", "check"), [
    (TooMany(), "kept_sets"), (NoQuery(), "kept_sets"), (SecretScores(), "scores"), (FakeSuffix(), "suffix_only"),
    (FakeAnchored(), "anchored_head"), (Readmits(), "static_online"), (WrongModes(), "modes"),
    (LostSinks(), "sinks"), (RecentBiased(), "uniform"), (HalvedValues(), "full_budget"),
], ids=lambda x: x if isinstance(x, str) else x.name)
def test_each_broken_policy_fails_its_own_check(policy, check):
    report = check_policy(policy)
    assert not report.ok and check in {v.claim for v in report.failures()}, [v.reason for v in report.verdicts]


def test_a_broken_choose_is_a_value_error_naming_the_policy_not_an_assertion():
    with pytest.raises(ValueError, match="policy 'too_many' broke its contract at t = 9, budget = 3"):
        TooMany().keep(9, 3)


def test_check_policy_refuses_what_is_not_a_policy():
    with pytest.raises(ValueError, match="takes a policy instance"):
        check_policy("sliding")
