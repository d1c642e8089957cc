"""The converse: Bayes risk of suffix-only prediction (THEORY result 3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import wzbounds as wz
from wzbounds.testing.strategies import distributions, suffix_predictions


def best_tv_risk_by_linear_programming(problem: wz.SuffixPrediction) -> float:
    """min over q(.|s) of E TV(p, q), solved per suffix s as an LP.

    Variables: q(x) and slacks u(z, x) >= |p(x|z,s) - q(x)|; minimise
    1/2 sum_z pi(z,s) sum_x u(z,x) subject to sum_x q(x) = 1, q >= 0.
    """
    nz, ns, V = problem.laws.shape
    total = 0.0
    for s in range(ns):
        p = problem.laws[:, s, :]
        pi = problem.weights[:, s]
        cost = np.concatenate([np.zeros(V), 0.5 * np.repeat(pi, V)])
        rows, rhs = [], []
        for z in range(nz):
            for x in range(V):
                up = np.zeros(V + nz * V)
                up[x], up[V + z * V + x] = 1.0, -1.0  # q - u <= p
                down = np.zeros(V + nz * V)
                down[x], down[V + z * V + x] = -1.0, -1.0  # -q - u <= -p
                rows += [up, down]
                rhs += [p[z, x], -p[z, x]]
        eq = np.concatenate([np.ones(V), np.zeros(nz * V)])[None]
        res = linprog(cost, A_ub=np.array(rows), b_ub=rhs, A_eq=eq, b_eq=[1.0], bounds=(0, None), method="highs")
        assert res.status == 0
        total += res.fun
    return total


@settings(max_examples=60, deadline=None)
@given(suffix_predictions())
def test_tv_converse_half_the_bayes_gap_on_random_joint_laws(problem):
    best = best_tv_risk_by_linear_programming(problem)
    gap = problem.bayes_risk_tv()
    tol = 1e-7  # HiGHS's primal/dual feasibility tolerance
    assert gap / 2 <= best + tol
    assert best <= gap + tol


@pytest.mark.parametrize("e", [0.1, 0.01, 0.001])
def test_tv_constant_one_half_is_approached_but_not_attained(e):
    # Far past decides between two point masses; the suffix sees nothing.
    problem = wz.SuffixPrediction(np.array([[1 - e], [e]]), np.array([[[1.0, 0.0]], [[0.0, 1.0]]]))
    best = best_tv_risk_by_linear_programming(problem)
    ratio = best / problem.bayes_risk_tv()
    assert ratio == pytest.approx(1 / (2 * (1 - e)), rel=1e-9, abs=0)
    assert ratio > 0.5


def kl_brute(p, q):
    return sum(a * np.log(a / b) for a, b in zip(p, q) if a > 0)


@settings(max_examples=100, deadline=None)
@given(suffix_predictions(), st.data())
def test_kl_risk_splits_into_bayes_gap_plus_excess(problem, data):
    nz, ns, V = problem.laws.shape
    q = 0.9 * data.draw(distributions(V, batch=(ns,))) + 0.1 / V  # full support: finite KL
    risk = sum(
        problem.weights[z, s] * kl_brute(problem.laws[z, s], q[s]) for z in range(nz) for s in range(ns)
    )
    assert problem.risk_kl(q) == pytest.approx(risk, rel=1e-9, abs=1e-12)
    assert risk == pytest.approx(problem.bayes_risk_kl() + problem.excess_kl(q), rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(suffix_predictions(), st.data())
def test_posterior_mean_is_never_beaten_under_log_loss(problem, data):
    nz, ns, V = problem.laws.shape
    q = data.draw(distributions(V, batch=(ns,)))
    assert problem.bayes_risk_kl() <= problem.risk_kl(q) + 1e-12


def test_bayes_predictor_is_the_posterior_mean():
    weights = np.array([[0.2, 0.1], [0.3, 0.4]])
    laws = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.25, 0.75]]])
    pbar = wz.SuffixPrediction(weights, laws).bayes_predictor()
    assert pbar[0] == pytest.approx([0.4, 0.6])
    assert pbar[1] == pytest.approx([(0.05 + 0.1) / 0.5, (0.05 + 0.3) / 0.5])
