"""The conformance suite: every constructed bound passes each named check, and each check is
proved able to fail by a deliberately broken bound (scikit-learn's way of proving check_estimator)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wzbounds as wz
from wzbounds.testing import CHECKS, bound_checks, check_bound

alphas = st.floats(0.05, 4.0)
constants = st.floats(1e-2, 1e2)


@st.composite
def tv_bounds(draw):
    C, alpha = draw(constants), draw(alphas)
    c_B = draw(st.floats(1e-3, 1.0)) * 2 * C
    return wz.sliding_window_tv(C, alpha, c_B=c_B, w0=draw(st.sampled_from([1.0, 4.0, 32.0])))


@st.composite
def kl_bounds(draw):
    C, alpha = draw(st.floats(1e-2, 1.0)), draw(alphas)
    V, mu = draw(st.integers(2, 50000)), draw(st.floats(1e-3, 0.9))
    R = draw(st.one_of(st.none(), st.floats(1.0, 3.0)))
    upper = wz.sliding_window_kl(C, alpha, V=V, mu=mu, R=R).achievability
    beta = upper.alpha * draw(st.floats(1.0, 3.0))
    c_B = upper.C * draw(st.floats(1e-3, 1.0))
    w0 = draw(st.sampled_from([1.0, 2.5, 100.0]))
    return wz.sliding_window_kl(C, alpha, V=V, mu=mu, R=R, c_B=c_B, beta=beta, w0=w0)


@settings(max_examples=300, deadline=None)
@given(st.one_of(tv_bounds(), kl_bounds()), st.integers(0, 2**16))
def test_every_constructed_bound_passes_conformance(bound, seed):
    """Over the whole parameter range the constructors accept (w0 included): no valid bound fails."""
    report = check_bound(bound, n=60, seed=seed, raise_on_failure=False)
    assert report.ok, [v.reason for v in report.failures()]


GOOD = {
    "tv": wz.sliding_window_tv(1.0, 0.44, c_B=0.5),
    "tv-no-converse": wz.sliding_window_tv(0.3, 1.2, w0=8),
    "kl-reg": wz.sliding_window_kl(0.5, 0.44, V=49152, mu=0.1, R=1.6, c_B=1.0, beta=1.0),
    "kl-binary": wz.sliding_window_kl(0.5, 0.7, V=2, mu=0.3),
    "tv-w0": wz.sliding_window_tv(1.0, 0.65, c_B=0.5, w0=100),
}
CASES = [(key, name, check) for key, bound in GOOD.items() for name, check in bound_checks(bound, n=100)]


@pytest.mark.parametrize(("key", "name", "check"), CASES, ids=[f"{k}-{n}" for k, n, _ in CASES])
def test_each_check_holds_on_each_good_bound(key, name, check):
    verdict = check()
    assert verdict.outcome == "holds", verdict.reason


# Broken bounds: each breaks one property, the suite must say which.

class ConverseAboveAchievability(wz.WindowBound):
    def converse_window(self, eps):
        return 2.0 * self.achievable_window(eps)


class CappedWindow(wz.WindowBound):
    def achievable_window(self, eps):
        return np.minimum(super().achievable_window(eps), 1e6)


class NotMonotone(wz.WindowBound):
    def achievable_window(self, eps):
        w = super().achievable_window(eps)
        return w + 5.0 * (np.arange(np.size(w)) % 2).reshape(np.shape(w))


class OneTokenTooMany(wz.WindowBound):
    def achievable_window(self, eps):
        return super().achievable_window(eps) + 1.0


class ShiftedFloor(wz.WindowBound):
    def achievable_window(self, eps):
        return np.maximum(super().achievable_window(eps), 1000.0)


class CrossesBelow1e8(wz.WindowBound):
    """A converse window that overtakes the achievable one only for eps below 1e-8."""

    def converse_window(self, eps):
        eps = np.asarray(eps, dtype=float)
        return np.where(eps < 1e-8, 3.0 * self.achievable_window(eps), super().converse_window(eps))


class ConverseBelowW0(wz.WindowBound):
    """The old rule: (B/eps)^(1/b) even where it is below w0, where the lower law says nothing."""

    def converse_window(self, eps):
        return self.converse.real_window(eps)


def _kl_with_constant(constant):
    """A KL_mu bound whose law carries `constant` while its hypotheses say (C, alpha, V, mu, R)."""
    right = wz.sliding_window_kl(0.5, 0.44, V=1000, mu=0.1, R=1.6)
    return wz.WindowBound("kl_mu", wz.PowerLaw(constant, right.achievability.alpha), None,
                          right.achievable_from, None, right.parameters)


_TV = wz.sliding_window_tv(1.0, 0.44, c_B=0.5)
_TV_W0 = wz.sliding_window_tv(1.0, 0.65, c_B=0.5, w0=100)
_K = float(wz.reverse_pinsker_constant(1000, 0.1))


def _tv_with(achievability=None, converse=None, cls=wz.WindowBound, base=_TV):
    """A TV bound stating _TV's hypotheses (C = 1, alpha = 0.44, c_B = 0.5) with other laws."""
    return cls("tv", achievability or base.achievability, converse or base.converse, parameters=base.parameters)


BROKEN = [
    ("achievability C doubled", _tv_with(achievability=wz.PowerLaw(2.0, 0.44)), "check_symbolic"),
    ("converse missing its 1/2", _tv_with(converse=wz.PowerLaw(0.5, 0.44)), "check_symbolic"),
    ("laws given directly, no hypotheses stated", wz.WindowBound("tv", wz.PowerLaw(2.0, 0.5), wz.PowerLaw(0.5, 0.8)),
     "check_symbolic"),
    ("converse above achievability only below eps = 1e-8", _tv_with(cls=CrossesBelow1e8), "check_ordered"),
    ("converse end below w0", _tv_with(cls=ConverseBelowW0, base=_TV_W0), "check_symbolic"),
    ("wrong KL constant (C, not C^2)", _kl_with_constant(_K * 1.6 * 0.5), "check_symbolic"),
    ("wrong KL constant (no R)", _kl_with_constant(_K * 0.25), "check_symbolic"),
    ("converse above achievability", ConverseAboveAchievability("tv", _TV.achievability, _TV.converse,
                                                                 parameters=_TV.parameters), "check_ordered"),
    ("window capped: wrong limit as eps -> 0", CappedWindow("tv", _TV.achievability), "check_limits"),
    ("window floored: wrong value at eps = D(w1)", ShiftedFloor("tv", _TV.achievability), "check_limits"),
    ("window not monotone", NotMonotone("tv", _TV.achievability), "check_monotone"),
    ("window not the smallest", OneTokenTooMany("tv", _TV.achievability), "check_round_trip"),
    ("converse of the wrong exponent", wz.WindowBound("tv", _TV.achievability, wz.PowerLaw(0.25, 0.5),
                                                      parameters=_TV.parameters), "check_symbolic"),
]


@pytest.mark.parametrize(("case", "bound", "check_name"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_suite_fails_each_broken_bound_on_its_check(case, bound, check_name):
    report = check_bound(bound, raise_on_failure=False)
    verdict = report.verdict(check_name.removeprefix("check_"))
    assert verdict.outcome == "fails", verdict.reason
    with pytest.raises(AssertionError, match=check_name.removeprefix("check_")):
        check_bound(bound)


def test_every_check_is_proved_by_some_broken_bound():
    assert {c.__name__ for c in CHECKS} == {b[2] for b in BROKEN}
