"""Power-law fits and compute-optimal allocation (Chapter 9, §9.5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import curve_fit

from companion.business.training import compute_optimal, training_flops
from companion.scaling_laws import (
    CHINCHILLA,
    PowerLaw,
    chinchilla_loss,
    chinchilla_optimal,
    compute_optimal_tokens_per_param,
    fit_power_law,
)

N = np.logspace(3, 7, 9)


@pytest.mark.parametrize(("a", "alpha"), [(5.0, 0.076), (2.0, 0.34), (40.0, 1.0)])
def test_recovers_known_exponents_exactly(a, alpha):
    fit = fit_power_law(N, a * N**-alpha)
    assert fit.alpha == pytest.approx(alpha, rel=1e-10)
    assert fit.a == pytest.approx(a, rel=1e-8)
    assert fit.c == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loglog_fit_agrees_with_numpy_polyfit(seed):
    rng = np.random.default_rng(seed)
    loss = 3.0 * N**-0.2 * np.exp(0.02 * rng.standard_normal(len(N)))
    fit = fit_power_law(N, loss)
    slope, intercept = np.polyfit(np.log(N), np.log(loss), 1)
    assert fit.alpha == pytest.approx(-slope, rel=1e-10)
    assert fit.a == pytest.approx(math.exp(intercept), rel=1e-10)
    assert fit.alpha == pytest.approx(0.2, abs=0.02)
    # a fit in log10 for the slope but natural log for the intercept would give another a
    assert fit.a != pytest.approx(10**intercept, rel=1e-3)


@pytest.mark.parametrize(
    ("a", "alpha", "c", "seed"), [(5.0, 0.3, 1.2, 0), (8.0, 0.5, 2.0, 1), (3.0, 0.15, 0.5, 2)]
)
def test_offset_fit_recovers_and_agrees_with_scipy_curve_fit(a, alpha, c, seed):
    clean = a * N**-alpha + c
    exact = fit_power_law(N, clean, offset=True)
    assert (exact.a, exact.alpha, exact.c) == pytest.approx((a, alpha, c), rel=1e-5)
    rng = np.random.default_rng(seed)
    noisy = clean * (1 + 0.005 * rng.standard_normal(len(N)))
    fit = fit_power_law(N, noisy, offset=True)
    popt, _ = curve_fit(
        lambda n, a_, al, c_: a_ * n**-al + c_, N, noisy, p0=[a, alpha, c], maxfev=20000
    )
    assert (fit.a, fit.alpha, fit.c) == pytest.approx(tuple(popt), rel=1e-4)
    # ignoring the offset gives a much smaller exponent: the floor flattens the log-log curve
    assert fit_power_law(N, noisy).alpha < 0.8 * alpha


def test_inputs_in_every_common_type():
    loss = list(2.0 * N**-0.5)
    for n in (list(N), N, torch.tensor(N), N.astype(np.float32), [int(x) for x in N]):
        assert fit_power_law(n, loss).alpha == pytest.approx(0.5, rel=1e-5)


def test_power_law_call():
    law = PowerLaw(2.0, 0.5, 1.0)
    assert law(4.0) == pytest.approx(2.0)
    assert law([1.0, 100.0]) == pytest.approx([3.0, 1.2])


def test_compute_optimal_twenty_tokens_per_parameter():
    n, d = compute_optimal_tokens_per_param(5.76e23)
    assert 6 * n * d == pytest.approx(5.76e23)
    assert d / n == pytest.approx(20.0)
    assert n == pytest.approx(69.3e9, rel=1e-3)  # Chinchilla itself: 70B parameters, 1.4T tokens
    assert (n, d) == pytest.approx(compute_optimal(5.76e23, tokens_per_param=20.0), rel=1e-12)
    # quadrupling the budget doubles both N and D
    n4, d4 = compute_optimal_tokens_per_param(4 * 5.76e23)
    assert (n4 / n, d4 / d) == pytest.approx((2.0, 2.0))


def test_gpt3_training_flops():
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23)
    assert f"{6 * 175e9 * 300e9:.3g}" == "3.15e+23"


def test_chinchilla_closed_form_is_the_minimum():
    C = 1e21
    n_opt, d_opt = chinchilla_optimal(C)
    assert 6 * n_opt * d_opt == pytest.approx(C)
    best = chinchilla_loss(n_opt, d_opt)
    for factor in (0.5, 0.8, 1.25, 2.0):
        n = n_opt * factor
        assert chinchilla_loss(n, C / (6 * n)) > best
    # brute force over a fine grid lands on the same N
    grid = np.logspace(8, 11, 20001)
    losses = (
        CHINCHILLA["E"]
        + CHINCHILLA["A"] / grid ** CHINCHILLA["alpha"]
        + CHINCHILLA["B"] / (C / (6 * grid)) ** CHINCHILLA["beta"]
    )
    assert grid[np.argmin(losses)] == pytest.approx(n_opt, rel=1e-3)
