"""Plausible mistakes with Chapter 1's helpers (companion.history)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.history import MODELS, flops_to_pf_days, parameter_table, training_flops
from tests.badinput.harness import expect_clear_error

BAD_CALLS = [
    ("n_params", ValueError, lambda: training_flops(0, 1e9)),
    ("n_params", ValueError, lambda: training_flops(-175e9, 300e9)),
    ("n_params", ValueError, lambda: training_flops(float("nan"), 300e9)),
    ("n_params", ValueError, lambda: training_flops(float("inf"), 300e9)),
    ("n_params", TypeError, lambda: training_flops("175e9", 300e9)),
    ("n_params", TypeError, lambda: training_flops(True, 300e9)),
    ("n_params", TypeError, lambda: training_flops(None, 300e9)),
    ("n_params", TypeError, lambda: training_flops([175e9], 300e9)),
    ("n_params", TypeError, lambda: training_flops(torch.tensor([175e9, 1.0]), 300e9)),
    ("n_tokens", ValueError, lambda: training_flops(175e9, 0)),
    ("n_tokens", ValueError, lambda: training_flops(175e9, -300e9)),
    ("n_tokens", ValueError, lambda: training_flops(175e9, float("nan"))),
    ("n_tokens", TypeError, lambda: training_flops(175e9, "300B")),
    ("flops", ValueError, lambda: flops_to_pf_days(0.0)),
    ("flops", ValueError, lambda: flops_to_pf_days(-3e23)),
    ("flops", ValueError, lambda: flops_to_pf_days(float("inf"))),
    ("flops", TypeError, lambda: flops_to_pf_days("3e23")),
    ("models", TypeError, lambda: parameter_table(MODELS[0])),
    ("models", TypeError, lambda: parameter_table("AlexNet")),
    ("models[0]", TypeError, lambda: parameter_table(("AlexNet",))),
]


@pytest.mark.parametrize(
    "name,kind,call", BAD_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CALLS)]
)
def test_clear_error(name, kind, call):
    expect_clear_error(call, name, kind=kind)


@pytest.mark.parametrize(
    "n,d",
    [(175e9, 300e9), (np.float64(175e9), np.int64(300_000_000_000)), (torch.tensor(175e9), 3e11)],
)
def test_accepted_types_give_the_right_answer(n, d):
    assert training_flops(n, d) == pytest.approx(6 * 175e9 * 300e9, rel=1e-6)
    assert flops_to_pf_days(training_flops(n, d)) == pytest.approx(3.15e23 / 8.64e19, rel=1e-6)
