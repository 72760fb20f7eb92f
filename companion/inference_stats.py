"""Uncertainty and comparisons: bootstrap intervals, McNemar's test, A/B tests (Chapter 11, §11.7).

* :func:`bootstrap_ci`: a percentile bootstrap confidence interval for any metric of
  ``(y_true, y_score)``, resampling the test examples with replacement (Efron and
  Tibshirani, 1993).
* :func:`mcnemar_exact`: are two classifiers equally accurate on the *same* test set? Only
  the examples on which they disagree carry information; under the null hypothesis each
  disagreement goes either way with probability 1/2, so the p-value is an exact binomial
  tail (eq. ch11-mcnemar). Equal to statsmodels' ``mcnemar(exact=True)``.
* A/B tests on a conversion rate: :func:`ab_sample_size` (per group, from a power analysis
  with Cohen's effect size ``h = 2 asin(sqrt(p_b)) - 2 asin(sqrt(p_a))``, as statsmodels'
  ``NormalIndPower`` with ``proportion_effectsize``), :func:`ab_power`, and :func:`ab_test`
  (pooled two-proportion z-test, a Wald interval for the difference, and the decision rule
  fixed before the data: ship B only if the p-value is below ``alpha`` and B is better).

Labels and scores are converted as in :mod:`companion.metrics`; counts are integers and
rates lie strictly between 0 and 1. A wrong kind is a ``TypeError``, a wrong value a
``ValueError``, each naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, stats

from companion.metrics import _as_array, as_labels
from companion.validation import check_choice, check_int, check_real, describe

__all__ = [
    "BootstrapCI",
    "bootstrap_ci",
    "McNemarResult",
    "mcnemar_exact",
    "ab_power",
    "ab_sample_size",
    "ABResult",
    "ab_test",
]


class BootstrapCI(NamedTuple):
    """``estimate``: the metric on the full data; ``low``/``high``: the interval; ``n_skipped``:
    resamples on which the metric was undefined (e.g. one class only) and that were dropped."""

    estimate: float
    low: float
    high: float
    n_skipped: int


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: Any,
    y_score: Any,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile bootstrap interval of ``metric(y_true, y_score)`` at confidence ``level``.

    Each of ``n_boot`` resamples draws ``n`` example indices with replacement and applies
    them to both arrays together (the pairs stay paired). A resample on which ``metric``
    raises ``ValueError`` or returns NaN (an AUC or a recall of a resample without positives)
    is skipped and counted; more than 1% skipped is a ``ValueError``, because the interval
    would then be biased.
    ``y_score`` may be scores or hard predictions: it is passed to ``metric`` unchanged
    (as a NumPy array).
    """
    if not callable(metric):
        raise TypeError(
            f"metric must be a function metric(y_true, y_score), got {describe(metric)}"
        )
    t = as_labels(y_true, "y_true")
    s = _as_array(y_score, "y_score")
    if s.ndim != 1 or len(s) != len(t):
        raise ValueError(
            f"y_score must be 1-D with one entry per label ({len(t)}), got shape {s.shape}"
        )
    n_boot = check_int(n_boot, "n_boot", min=100)
    level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_int(seed, "seed", min=0)
    estimate = float(metric(t, s))
    if not math.isfinite(estimate):
        raise ValueError(f"metric(y_true, y_score) is {estimate} on the full data: undefined")
    rng = np.random.default_rng(seed)
    values, skipped = [], 0
    for _ in range(n_boot):
        idx = rng.integers(0, len(t), len(t))
        try:
            value = float(metric(t[idx], s[idx]))
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            values.append(value)
        else:  # undefined on this resample (one class only; a 0/0 precision is NaN)
            skipped += 1
    if skipped > 0.01 * n_boot:
        raise ValueError(
            f"metric was undefined on {skipped} of {n_boot} resamples of y_true (too few "
            "examples of a class?); the interval would be biased"
        )
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapCI(estimate, float(lo), float(hi), skipped)


class McNemarResult(NamedTuple):
    """``a_only``: examples A gets right and B wrong; ``b_only``: the reverse; the p-value of
    the exact two-sided test that both are equally accurate."""

    a_only: int
    b_only: int
    p_value: float


def mcnemar_exact(y_true: Any, pred_a: Any, pred_b: Any) -> McNemarResult:
    """McNemar's exact test (eq. ch11-mcnemar) for two classifiers on the same test set.

    ``p = min(1, 2 * P[Binomial(a_only + b_only, 1/2) <= min(a_only, b_only)])``; 1 when
    they never disagree in correctness.
    """
    t = as_labels(y_true, "y_true")
    a = as_labels(pred_a, "pred_a", n=len(t))
    b = as_labels(pred_b, "pred_b", n=len(t))
    ra, rb = a == t, b == t
    a_only, b_only = int(np.sum(ra & ~rb)), int(np.sum(~ra & rb))
    n = a_only + b_only
    p = 1.0 if n == 0 else min(1.0, 2 * float(stats.binom.cdf(min(a_only, b_only), n, 0.5)))
    return McNemarResult(a_only, b_only, p)


def _rate(value: Any, name: str) -> float:
    return check_real(value, name, low=0.0, high=1.0, low_open=True, high_open=True)


def _effect_size(p_a: float, p_b: float) -> float:
    """Cohen's h for two proportions (statsmodels' ``proportion_effectsize(p_b, p_a)``)."""
    return 2 * math.asin(math.sqrt(p_b)) - 2 * math.asin(math.sqrt(p_a))


def _power(h: float, n_per_group: float, alpha: float, alternative: str) -> float:
    z = h * math.sqrt(n_per_group / 2)  # two groups of n: effective size n/2
    if alternative == "two-sided":
        crit = stats.norm.isf(alpha / 2)
        return float(stats.norm.sf(crit - z) + stats.norm.cdf(-crit - z))
    crit = stats.norm.isf(alpha)
    return float(stats.norm.sf(crit - z) if alternative == "larger" else stats.norm.cdf(-crit - z))


def ab_power(
    p_a: float, p_b: float, n_per_group: int, alpha: float = 0.05, alternative: str = "two-sided"
) -> float:
    """Probability that the test of :func:`ab_test` detects the difference between true rates
    ``p_a`` and ``p_b`` with ``n_per_group`` users in each arm (normal approximation on the
    arcsine scale, as statsmodels' ``NormalIndPower``)."""
    pa, pb = _rate(p_a, "p_a"), _rate(p_b, "p_b")
    n = check_int(n_per_group, "n_per_group", min=1)
    alpha = _rate(alpha, "alpha")
    alternative = check_choice(alternative, "alternative", ("two-sided", "larger", "smaller"))
    return _power(_effect_size(pa, pb), n, alpha, alternative)


def ab_sample_size(
    p_a: float, p_b: float, alpha: float = 0.05, power: float = 0.8,
    alternative: str = "two-sided",
) -> int:  # fmt: skip
    """Users needed *in each arm* to detect a change of the rate from ``p_a`` to ``p_b`` with
    probability ``power`` at significance ``alpha`` (rounded up)."""
    pa, pb = _rate(p_a, "p_a"), _rate(p_b, "p_b")
    if pa == pb:
        raise ValueError(f"p_a and p_b must differ (both {pa}): no sample detects no effect")
    alpha, power = _rate(alpha, "alpha"), _rate(power, "power")
    alternative = check_choice(alternative, "alternative", ("two-sided", "larger", "smaller"))
    h = _effect_size(pa, pb)
    if (alternative == "larger" and h < 0) or (alternative == "smaller" and h > 0):
        raise ValueError(f"alternative={alternative!r} tests the other direction than p_b - p_a")
    if power <= alpha:
        raise ValueError(f"power ({power}) must exceed alpha ({alpha})")
    n = optimize.brentq(lambda m: _power(h, m, alpha, alternative) - power, 1e-6, 1e12)
    return math.ceil(n - 1e-9)


class ABResult(NamedTuple):
    """The observed rates, their difference ``B - A`` with a Wald interval, the pooled z-test's
    statistic and two-sided p-value, and the decision ("ship B", "keep A" or "no decision")."""

    rate_a: float
    rate_b: float
    diff: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    decision: str


def ab_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int, alpha: float = 0.05
) -> ABResult:
    """Two-sided pooled z-test of equal conversion rates, and the pre-registered decision:
    "ship B" if ``p < alpha`` and B converts more, "keep A" if ``p < alpha`` and B converts
    less, otherwise "no decision" (not evidence that the two are equal)."""
    n_a, n_b = check_int(n_a, "n_a", min=1), check_int(n_b, "n_b", min=1)
    sa = check_int(successes_a, "successes_a", min=0, max=n_a)
    sb = check_int(successes_b, "successes_b", min=0, max=n_b)
    alpha = _rate(alpha, "alpha")
    ra, rb = sa / n_a, sb / n_b
    pooled = (sa + sb) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se0 == 0:
        raise ValueError("successes_a and successes_b are both 0 or both all users: no variance")
    z = (rb - ra) / se0
    p = float(2 * stats.norm.sf(abs(z)))
    se = math.sqrt(ra * (1 - ra) / n_a + rb * (1 - rb) / n_b)
    q = float(stats.norm.isf(alpha / 2))
    decision = "no decision" if p >= alpha else ("ship B" if rb > ra else "keep A")
    return ABResult(ra, rb, rb - ra, rb - ra - q * se, rb - ra + q * se, z, p, decision)
