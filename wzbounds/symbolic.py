"""The results as sympy expressions: one symbolic source beside the numeric code.

Every numeric evaluator in wzbounds has its expression here; the tests
lambdify these and compare them with the numeric functions on random grids
(symbolic == numeric). Windows are the real solutions, before the ceiling.

Symbols (all positive): alpha (PTS exponent), beta (Bayes-risk exponent),
C (PTS constant), c_B (Bayes-risk lower constant, in the bound's own
distortion: Delta_TV for TV, Delta_mu for KL_mu), eps (target distortion),
w, b (tokens), mu (smoothing), V (alphabet), R (REG).

Importing this module imports sympy (about half a second); `import wzbounds`
does not, and loads it only when `wzbounds.symbolic` is first used.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

alpha, beta, C, c_B, eps, w, b, mu, V, R = sp.symbols("alpha beta C c_B epsilon w b mu V R", positive=True)
r, k = sp.symbols("r k", integer=True, nonnegative=True)

power_law = C * w**-alpha

pinsker_constant = 2 * (1 - mu) ** 2
reverse_pinsker_constant = V * (1 - mu) ** 2 / mu
reverse_pinsker_constant_binary = 2 * (1 - mu) ** 2 / (mu * (2 - mu))

achievable_window_tv = (C / eps) ** (1 / alpha)
# TV converse: Delta_TV(w) >= c_B w^-beta and E TV >= Delta_TV / 2
converse_window_tv = (c_B / (2 * eps)) ** (1 / beta)
# the band's width when both ends share the exponent alpha: (2 C / c_B)^(1/alpha)
band_ratio_tv = (2 * C / c_B) ** (1 / alpha)

kl_constant_reg = reverse_pinsker_constant * R * C**2
kl_constant_no_reg = reverse_pinsker_constant * C
achievable_window_kl_reg = (kl_constant_reg / eps) ** (1 / (2 * alpha))
achievable_window_kl_no_reg = (kl_constant_no_reg / eps) ** (1 / alpha)
# KL_mu converse: Delta_mu(w) = E KL_mu(p, pbar) >= c_B w^-beta (the smoothed gap, not Delta)
converse_window_kl = (c_B / eps) ** (1 / beta)


def reverse_pinsker(V_value: int) -> sp.Expr:
    """K(V, mu) for a given alphabet size: the binary constant at V = 2, V (1-mu)^2 / mu above."""
    return reverse_pinsker_constant_binary if int(V_value) == 2 else reverse_pinsker_constant.subs(V, int(V_value))


def kl_achievable_window(V_value: int, reg: bool) -> sp.Expr:
    """The KL_mu sliding window for a given alphabet size, in C, alpha, mu (and R under REG):

        REG:     (K(V,mu) R C^2 / eps)^(1/(2 alpha))
        no REG:  (K(V,mu) C / eps)^(1/alpha)
    """
    K = reverse_pinsker(V_value)
    if reg:
        return (K * R * C**2 / eps) ** (1 / (2 * alpha))
    return (K * C / eps) ** (1 / alpha)

kappa = (2 ** (1 - alpha) - 1) / (1 - alpha)
block_average_sum = C / b * sp.Sum((b + r) ** -alpha, (r, 0, b - 1))
block_average_zeta = C / b * (sp.zeta(alpha, b) - sp.zeta(alpha, 2 * b))
block_average_limit = C * b**-alpha * kappa
peak_memory = 2 * b - 1
mean_memory = (3 * b - 1) / sp.Integer(2)
peak_ratio_limit = 2 * kappa ** (1 / alpha)
mean_ratio_limit = sp.Rational(3, 2) * kappa ** (1 / alpha)


def block_expansion(order: int) -> sp.Expr:
    """Dbar(b) / (C b^-alpha) to `order` terms in 1/b (Euler-Maclaurin):

        kappa + (1 - 2^-alpha)/(2b) + sum_{k=1}^{order-2} B_2k/(2k)! rf(alpha, 2k-1)
                                                         (1 - 2^-(alpha+2k-1)) b^-2k
    """
    if order < 1:
        raise ValueError(f"order must be >= 1; got {order}")
    terms = [kappa, (1 - 2**-alpha) / (2 * b)]
    for j in range(1, order - 1):
        m = 2 * j - 1
        terms.append(
            sp.bernoulli(2 * j) / sp.factorial(2 * j) * sp.rf(alpha, m) * (1 - 2 ** -(alpha + m)) / b ** (2 * j)
        )
    return sp.Add(*terms[:order])


def kappa_near_one(order: int = 3) -> sp.Expr:
    """Taylor series of kappa(alpha) about alpha = 1 (where the formula is 0/0):

        ln 2 - (ln 2)^2/2 (alpha - 1) + (ln 2)^3/6 (alpha - 1)^2 - ...
    """
    return sp.series(kappa, alpha, 1, order).removeO()


def peak_ratio_limits() -> tuple[sp.Expr, sp.Expr]:
    """lim 2 kappa^(1/alpha) as alpha -> 0 and as alpha -> oo: (e/2, 2)."""
    expr = peak_ratio_limit
    return sp.limit(expr, alpha, 0, "+"), sp.limit(expr, alpha, sp.oo)


def numeric(expr: sp.Expr, *args: sp.Symbol) -> Callable[..., object]:
    """A vectorised numpy function of `args` computing `expr` (sympy.lambdify)."""
    return sp.lambdify(args, expr, modules=["scipy", "numpy"])
