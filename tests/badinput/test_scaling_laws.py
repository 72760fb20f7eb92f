"""Bad input to companion.scaling_laws (Chapter 9, §9.5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import scaling_laws as S
from tests.badinput.harness import expect_clear_error

N = [1e3, 1e4, 1e5, 1e6]
L = [3.0, 2.5, 2.1, 1.9]

CASES = [
    ("n scalar", lambda: S.fit_power_law(1e3, L), "n", TypeError),
    ("n string", lambda: S.fit_power_law("1000", L), "n", TypeError),
    ("n strings", lambda: S.fit_power_law(["a", "b"], L[:2]), "n", TypeError),
    ("n bool", lambda: S.fit_power_law(np.array([True, False]), L[:2]), "n", TypeError),
    ("n zero", lambda: S.fit_power_law([0, 1e3, 1e4, 1e5], L), "n", ValueError),
    ("n negative", lambda: S.fit_power_law([-1e3, 1e3, 1e4, 1e5], L), "n", ValueError),
    ("loss nan", lambda: S.fit_power_law(N, [3.0, float("nan"), 2.0, 1.0]), "loss", ValueError),
    ("loss inf", lambda: S.fit_power_law(N, [3.0, float("inf"), 2.0, 1.0]), "loss", ValueError),
    ("loss 2-D", lambda: S.fit_power_law(N, torch.ones(4, 1)), "loss", ValueError),
    ("length mismatch", lambda: S.fit_power_law(N, L[:3]), "loss", ValueError),
    ("one size", lambda: S.fit_power_law([1e3, 1e3], [2.0, 2.1]), "n", ValueError),
    ("offset two sizes", lambda: S.fit_power_law(N[:2], L[:2], offset=True), "n", ValueError),
    ("offset int", lambda: S.fit_power_law(N, L, offset=1), "offset", TypeError),
    (
        "alpha_max zero",
        lambda: S.fit_power_law(N, L, offset=True, alpha_max=0),
        "alpha_max",
        ValueError,
    ),
    ("compute zero", lambda: S.compute_optimal_tokens_per_param(0), "compute_flops", ValueError),
    (
        "compute string",
        lambda: S.compute_optimal_tokens_per_param("1e21"),
        "compute_flops",
        TypeError,
    ),
    (
        "ratio negative",
        lambda: S.compute_optimal_tokens_per_param(1e21, -20),
        "tokens_per_param",
        ValueError,
    ),
    ("chinchilla n zero", lambda: S.chinchilla_loss(0, 1e9), "n_params", ValueError),
    ("chinchilla d nan", lambda: S.chinchilla_loss(1e9, float("nan")), "n_tokens", ValueError),
    ("optimal inf", lambda: S.chinchilla_optimal(float("inf")), "compute_flops", ValueError),
]


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_integer_sizes_are_accepted_and_exact():
    fit = S.fit_power_law([1000, 10000, 100000], [2.0 * n**-0.5 for n in (1000, 10000, 100000)])
    assert fit.alpha == pytest.approx(0.5, rel=1e-10)
