"""Bad input to the from-scratch optimiser (companion.optim)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.optim import SGD, quadratic_rates
from tests.badinput.harness import expect_clear_error

P = torch.zeros(3, dtype=torch.float64)
NAN, INF = float("nan"), float("inf")

CASES = [
    ("lr nan", lambda: SGD([P], lr=NAN), "lr", ValueError),
    ("lr inf", lambda: SGD([P], lr=INF), "lr", ValueError),
    ("lr zero", lambda: SGD([P], lr=0.0), "lr", ValueError),
    ("lr negative", lambda: SGD([P], lr=-0.1), "lr", ValueError),
    ("lr string", lambda: SGD([P], lr="0.1"), "lr", TypeError),
    ("momentum 1", lambda: SGD([P], lr=0.1, momentum=1.0), "momentum", ValueError),
    ("momentum negative", lambda: SGD([P], lr=0.1, momentum=-0.5), "momentum", ValueError),
    ("momentum nan", lambda: SGD([P], lr=0.1, momentum=NAN), "momentum", ValueError),
    ("weight decay negative", lambda: SGD([P], lr=0.1, weight_decay=-1e-4), "weight_decay",
     ValueError),
    ("weight decay inf", lambda: SGD([P], lr=0.1, weight_decay=INF), "weight_decay", ValueError),
    ("nesterov string", lambda: SGD([P], lr=0.1, momentum=0.9, nesterov="yes"), "nesterov",
     TypeError),
    ("nesterov without momentum", lambda: SGD([P], lr=0.1, nesterov=True), "nesterov",
     ValueError),
    ("params empty", lambda: SGD([], lr=0.1), "params", ValueError),
    ("params numpy", lambda: SGD([np.zeros(3)], lr=0.1), "params", TypeError),
    ("params int tensor", lambda: SGD([torch.zeros(3, dtype=torch.long)], lr=0.1), "params",
     TypeError),
    ("params None", lambda: SGD(None, lr=0.1), "params", TypeError),
    ("grads wrong count", lambda: SGD([P], lr=0.1).step([P, P]), "grads", ValueError),
    ("grads wrong shape", lambda: SGD([P], lr=0.1).step([torch.zeros(2, dtype=torch.float64)]),
     "grads", ValueError),
    ("grads numpy", lambda: SGD([P], lr=0.1).step([np.zeros(3)]), "grads", TypeError),
    ("grads float32", lambda: SGD([P], lr=0.1).step([torch.zeros(3)]), "grads", TypeError),
    ("grads one tensor", lambda: SGD([P], lr=0.1).step(torch.zeros(3, dtype=torch.float64)),
     "grads", TypeError),
    ("no .grad", lambda: SGD([P], lr=0.1).step(), "grad", ValueError),
    ("rates lam_min 0", lambda: quadratic_rates(0.0, 1.0), "lam_min", ValueError),
    ("rates swapped", lambda: quadratic_rates(2.0, 1.0), "lam_max", ValueError),
    ("rates nan", lambda: quadratic_rates(1.0, NAN), "lam_max", ValueError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_a_single_tensor_is_accepted_as_params_and_steps_right():
    """Accepted on purpose (as torch.optim does): one tensor; it must step like a list."""
    p, q = torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    SGD(p, lr=0.5).step([torch.ones(3, dtype=torch.float64)])
    SGD([q], lr=0.5).step([torch.ones(3, dtype=torch.float64)])
    assert torch.equal(p, q) and torch.equal(p, torch.full((3,), 0.5, dtype=torch.float64))
