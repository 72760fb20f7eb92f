"""Scaling laws: power-law fits and compute-optimal allocation (Chapter 9, §9.5).

Kaplan et al. (2020) found that the test loss of language models trained without other
bottleneck falls as a power of the number of (non-embedding) parameters ``N``:

    L(N) = a · N^(−α)            (straight line of slope −α on log–log axes)
    L(N) = a · N^(−α) + c        (with an irreducible loss ``c``; eq. ch09-power-law)

:func:`fit_power_law` fits either form by least squares: without ``c`` in log–log space
(ordinary linear regression of ``log L`` on ``log N``); with ``c`` in the original space,
profiling out the linear parameters ``(a, c)`` for each ``α`` and minimising over ``α`` by a
grid and golden-section search. Tests compare both with NumPy's ``polyfit`` and SciPy's
``curve_fit``.

Hoffmann et al. (2022, "Chinchilla") fitted ``L(N, D) = E + A/N^α + B/D^β`` (their
Approach 3) and found that for a compute budget ``C ≈ 6·N·D`` FLOPs, ``N`` and ``D`` should
grow about equally; their Approaches 1 and 2 give roughly 20 training tokens per parameter.
:func:`compute_optimal_tokens_per_param` works that through (eq. ch09-compute-optimal) and
:func:`chinchilla_optimal` minimises the fitted loss for a budget.

Inputs are validated as in :mod:`companion.validation`: NumPy arrays, lists and tensors of
positive finite numbers are accepted and converted (this module says so); anything else is a
``TypeError``/``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from companion.validation import check_bool, check_positive, describe

__all__ = [
    "CHINCHILLA",
    "KAPLAN",
    "PowerLaw",
    "chinchilla_loss",
    "chinchilla_optimal",
    "compute_optimal_tokens_per_param",
    "fit_power_law",
]

#: Kaplan et al. (2020), eqs. (1.1)-(1.3): L(N) = (N_c/N)^α_N etc., N without embeddings.
KAPLAN = {"alpha_N": 0.076, "N_c": 8.8e13, "alpha_D": 0.095, "D_c": 5.4e13, "alpha_C_min": 0.050}
#: Hoffmann et al. (2022), eq. (10): L(N, D) = E + A/N^α + B/D^β (Approach 3).
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def _positive_array(values, name: str) -> np.ndarray:
    """A 1-D float64 array of positive finite numbers (lists, arrays and tensors converted)."""
    if isinstance(values, (str, bytes)) or np.isscalar(values):
        raise TypeError(f"{name} must be a sequence of numbers, got {describe(values)}")
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a sequence of numbers, got {describe(values)}") from err
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got an array of {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must hold positive finite numbers (a log is taken), got {arr}")
    return arr


@dataclass(frozen=True)
class PowerLaw:
    """``L(N) = a · N^(−alpha) + c`` (``c`` = 0 for the pure power law)."""

    a: float
    alpha: float
    c: float = 0.0

    def __call__(self, n):
        return self.a * np.asarray(n, dtype=np.float64) ** (-self.alpha) + self.c


def _loglog_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line ``log y = log a − α log x``; returns (a, α)."""
    lx, ly = np.log(x), np.log(y)
    lx_mean, ly_mean = lx.mean(), ly.mean()
    slope = ((lx - lx_mean) * (ly - ly_mean)).sum() / ((lx - lx_mean) ** 2).sum()
    return float(math.exp(ly_mean - slope * lx_mean)), float(-slope)


def _profile(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """For fixed α, the least-squares (a, c) of y ≈ a·x^(−α) + c and the residual sum of squares."""
    design = np.stack([x ** (-alpha), np.ones_like(x)], axis=1)
    (a, c), *_ = np.linalg.lstsq(design, y, rcond=None)
    rss = float(((design @ np.array([a, c]) - y) ** 2).sum())
    return float(a), float(c), rss


def fit_power_law(n, loss, *, offset: bool = False, alpha_max: float = 3.0) -> PowerLaw:
    """Fit ``loss ≈ a·n^(−α)`` (log–log least squares) or ``a·n^(−α) + c`` (``offset=True``).

    ``n`` and ``loss`` are 1-D sequences of positive numbers (at least 2 points; 3 with
    ``offset``). With ``offset`` the squared error is minimised in the original space over
    ``α ∈ (0, alpha_max]`` (the same objective as ``scipy.optimize.curve_fit``).
    """
    x, y = _positive_array(n, "n"), _positive_array(loss, "loss")
    if len(x) != len(y):
        raise ValueError(f"n and loss must have the same length, got {len(x)} and {len(y)}")
    offset = check_bool(offset, "offset")
    alpha_max = check_positive(alpha_max, "alpha_max")
    need = 3 if offset else 2
    if len(np.unique(x)) < need:
        raise ValueError(
            f"n must hold at least {need} distinct sizes to fit, got {len(np.unique(x))}"
        )
    if not offset:
        a, alpha = _loglog_fit(x, y)
        return PowerLaw(a, alpha, 0.0)
    grid = np.linspace(alpha_max / 2000, alpha_max, 2000)
    rss = [_profile(x, y, al)[2] for al in grid]
    i = int(np.argmin(rss))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(80):  # golden-section search on the bracketing interval
        m1, m2 = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if _profile(x, y, m1)[2] < _profile(x, y, m2)[2]:
            hi = m2
        else:
            lo = m1
    alpha = (lo + hi) / 2
    a, c, _ = _profile(x, y, alpha)
    return PowerLaw(a, float(alpha), c)


def compute_optimal_tokens_per_param(compute_flops: float, tokens_per_param: float = 20.0):
    """(N, D) with ``6·N·D = C``, ``D = r·N``: ``N = sqrt(C/(6r))`` (eq. ch09-compute-optimal).

    The one implementation is :func:`companion.business.compute_optimal` (Chapter 13's cost
    model uses it too); this name keeps the chapter's vocabulary.
    """
    from companion.business import compute_optimal

    return compute_optimal(compute_flops, tokens_per_param)


def chinchilla_loss(n_params, n_tokens, constants: dict | None = None):
    """Hoffmann et al.'s fitted loss ``E + A/N^α + B/D^β`` (nats per token on their data)."""
    k = CHINCHILLA if constants is None else constants
    n = check_positive(n_params, "n_params")
    d = check_positive(n_tokens, "n_tokens")
    return k["E"] + k["A"] / n ** k["alpha"] + k["B"] / d ** k["beta"]


def chinchilla_optimal(compute_flops: float, constants: dict | None = None) -> tuple[float, float]:
    """(N, D) minimising :func:`chinchilla_loss` subject to ``6·N·D = C``, in closed form.

    Setting the derivative along the constraint to zero gives
    ``N = G · (C/6)^(β/(α+β))`` with ``G = (α·A / (β·B))^(1/(α+β))``, and ``D = C / (6N)``
    (Hoffmann et al. 2022, eq. 4 and Appendix D.2).
    """
    k = CHINCHILLA if constants is None else constants
    c = check_positive(compute_flops, "compute_flops")
    al, be = k["alpha"], k["beta"]
    g = (al * k["A"] / (be * k["B"])) ** (1.0 / (al + be))
    n = g * (c / 6.0) ** (be / (al + be))
    return n, c / (6.0 * n)
