"""Bad input: every case raises a ValueError that names the argument."""

import math

import numpy as np
import pytest

import wzbounds as wz
from wzbounds import blockmarkov as bm
from wzbounds import ratedistortion as rd
from wzbounds.bayesrisk import far_symbol

P = [0.5, 0.5]

CASES = [
    ("alpha zero", lambda: wz.PowerLaw(1.0, 0.0), r"alpha must be finite and > 0; got 0\.0"),
    ("alpha negative", lambda: wz.sliding_window_tv(1.0, -0.3), r"alpha must be finite and > 0; got -0\.3"),
    ("alpha NaN", lambda: wz.achievable_window_tv(0.1, C=1.0, alpha=math.nan), r"alpha must be a number, not NaN"),
    ("alpha infinite", lambda: bm.kappa(math.inf), r"alpha must be finite and > 0; got inf"),
    ("alpha in an array", lambda: wz.theta_band_tv(0.1, C=1, alpha=[0.4, -1.0], c_B=1), r"alpha .* at index \(1,\)"),
    ("eps zero", lambda: wz.achievable_window_tv(0.0, C=1.0, alpha=0.4), r"eps must be in \(0, 1\]; got 0\.0"),
    ("eps above one (TV)", lambda: wz.sliding_window_tv(1.0, 0.4).achievable_window(1.5), r"eps must be in \(0, 1\]"),
    ("eps negative", lambda: wz.theta_band_tv(-1e-3, C=1, alpha=0.4, c_B=1), r"eps must be in \(0, 1\]"),
    ("eps NaN", lambda: wz.PowerLaw(1.0, 0.4).window(math.nan), r"eps must be a number, not NaN"),
    ("eps negative (KL)", lambda: wz.sliding_window_kl(1, 0.4, V=10, mu=0.1).achievable_window(-1), r"eps must be finite and > 0"),
    ("mu zero", lambda: wz.smoothed_kl(P, P, 0.0), r"mu must be in the open interval \(0, 1\); got 0\.0"),
    ("mu one", lambda: wz.pinsker_constant(1.0), r"mu must be in the open interval \(0, 1\)"),
    ("mu NaN", lambda: wz.smooth(P, math.nan), r"mu must be a number, not NaN"),
    ("negative probability", lambda: wz.tv([1.2, -0.2], P), r"p must be finite and >= 0 \(a probability\); got -0\.2"),
    ("not summing to one", lambda: wz.kl(P, [0.5, 0.6]), r"q \(sum over the last axis\) must be 1 within"),
    ("NaN probability", lambda: wz.tv([math.nan, 1.0], P), r"p must be a number, not NaN"),
    ("infinite probability", lambda: wz.tv([math.inf, 0.0], P), r"p must be finite and >= 0"),
    ("scalar distribution", lambda: wz.tv(1.0, 1.0), r"p must have a last axis of symbols"),
    ("empty distribution", lambda: wz.tv([], []), r"p must not be empty"),
    ("non-numeric distribution", lambda: wz.tv(["a", "b"], P), r"p must be numeric"),
    ("mismatched alphabets", lambda: wz.tv([0.2, 0.8], [0.2, 0.3, 0.5]), r"p and q must share the alphabet size"),
    ("mismatched batches", lambda: wz.tv(np.full((3, 2), 0.5), np.full((4, 2), 0.5)), r"p and q have shapes \(3, 2\) and \(4, 2\)"),
    ("mismatched grids", lambda: wz.theta_band_tv([0.1, 0.2], C=1, alpha=[0.3, 0.4, 0.5], c_B=1), r"shapes do not broadcast: eps\(2,\)"),
    ("C zero", lambda: wz.PowerLaw(0.0, 0.4), r"C must be finite and > 0"),
    ("w0 below one", lambda: wz.PowerLaw(1.0, 0.4, w0=0.5), r"w0 must be finite and >= 1"),
    ("rho one", lambda: wz.GeometricLaw(1.0, 1.0), r"rho must be in the open interval \(0, 1\)"),
    ("c_B above 2C", lambda: wz.theta_band_tv(0.1, C=1.0, alpha=0.4, c_B=3.0), r"c_B / 2 must be <= C"),
    ("R below one", lambda: wz.sliding_window_kl(1, 0.4, V=10, mu=0.1, R=0.5), r"R must be finite and >= 1"),
    ("V one", lambda: wz.reverse_pinsker_constant(1, 0.1), r"V must be finite and >= 2"),
    ("V fractional", lambda: wz.reverse_pinsker_constant(2.5, 0.1), r"V must be a whole number; got 2\.5"),
    ("block length zero", lambda: bm.average_distortion(1.0, 0.4, 0), r"b must be finite and >= 1"),
    ("block length fractional", lambda: bm.peak_memory(2.5), r"b must be a whole number"),
    ("window zero", lambda: wz.sliding_window_tv(1.0, 0.4).distortion_at(0), r"window must be finite and >= 1"),
    ("unknown distortion", lambda: wz.WindowBound("hellinger", wz.PowerLaw(1, 0.4)), r"distortion must be one of"),
    ("unknown geometry", lambda: wz.geometry("gpt-9"), r"unknown model geometry 'gpt-9'"),
    ("unknown dtype", lambda: wz.KVGeometry.with_dtype(2, 2, 64, "float12"), r"dtype must be one of"),
    ("zero layers", lambda: wz.KVGeometry(0, 2, 64), r"n_layers must be finite and >= 1"),
    ("joint law of the wrong rank", lambda: wz.SuffixPrediction(np.ones(3) / 3, np.ones((3, 1, 2)) / 2), r"weights must have shape \(nZ, nS\)"),
    ("laws not matching the joint law", lambda: wz.SuffixPrediction(np.ones((2, 2)) / 4, np.ones((2, 3, 2)) / 2), r"laws must have shape \(2, 2, 'V'\)"),
    ("predictor of the wrong shape", lambda: wz.SuffixPrediction(np.ones((1, 2)) / 2, np.ones((1, 2, 2)) / 2).risk_kl(np.ones((3, 2)) / 2), r"q must be a suffix-only predictor of shape \(2, 2\)"),
    ("converse below achievability exponent", lambda: wz.exponents(0.44, reg=True, fd=False, beta_mu=0.1), r"kl_mu converse exponent 0\.1 .* is below"),
    ("smoothed gap slower than the gap", lambda: wz.exponents(0.44, reg=False, fd=False, beta_mu=0.5, beta=0.6), r"beta_mu = 0\.5 < beta = 0\.6"),
    ("KL gap beyond Pinsker", lambda: wz.exponents(0.44, reg=False, fd=False, beta_tv=0.44, beta=1.0), r"beta = 1 > 2 beta_tv"),
    ("beta without c_B", lambda: wz.sliding_window_tv(1.0, 0.4, beta=0.5), r"beta without c_B"),
    ("Wyner-Ziv correlation above one", lambda: rd.gaussian_wyner_ziv(1, 2.0, 0.1), r"rho must be a correlation"),
    ("Wyner-Ziv correlation not a number", lambda: rd.gaussian_wyner_ziv(1, "abc", 0.1), r"rho must be numeric"),
    ("Wyner-Ziv correlation array with one at one", lambda: rd.gaussian_wyner_ziv(1, [0.5, 1.0], 0.1),
     r"rho must be a correlation in the open interval \(-1, 1\); got 1.0 at index \(1,\)"),
    ("Wyner-Ziv variance zero", lambda: rd.gaussian_wyner_ziv(0.0, 0.5, 0.1), r"variance must be finite and > 0"),
    ("Wyner-Ziv distortion zero", lambda: rd.gaussian_wyner_ziv(1.0, 0.5, 0.0), r"D must be finite and > 0"),
    ("DSBS distortion negative", lambda: rd.dsbs_wyner_ziv(0.25, -1), r"D must be finite and >= 0; got -1"),
    ("DSBS crossover", lambda: rd.dsbs_wyner_ziv(0.75, 0.1), r"p must be in \(0, 0\.5\)"),
    ("binary entropy of two", lambda: rd.binary_entropy(2.0), r"x must be a probability in \[0, 1\]; got 2\.0"),
    ("far symbol mass", lambda: far_symbol(1.5), r"t must be in \(0, 1\]"),
    ("expansion order", lambda: bm.expansion_terms(0.4, 100, 0), r"order must be in 1\.\.10"),
]


@pytest.mark.parametrize(("case", "call", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_value_error(case, call, message):
    with pytest.raises(ValueError, match=message):
        call()

