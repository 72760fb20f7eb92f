"""Bad input to companion.memory (Chapter 9, §9.1): clear errors, never a silent wrong total."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion import memory as M
from tests.badinput.harness import expect_clear_error

MODEL = nn.Linear(3, 2)
OPT = torch.optim.SGD(MODEL.parameters(), lr=0.1)

CASES = [
    ("n_params float", lambda: M.training_memory(7e9), "n_params", TypeError),
    ("n_params zero", lambda: M.training_memory(0), "n_params", ValueError),
    ("n_params negative", lambda: M.training_memory(-5), "n_params", ValueError),
    ("n_params bool", lambda: M.training_memory(True), "n_params", TypeError),
    ("n_params string", lambda: M.training_memory("7B"), "n_params", TypeError),
    ("optimizer unknown", lambda: M.training_memory(10, "lion"), "optimizer", ValueError),
    ("optimizer class", lambda: M.training_memory(10, torch.optim.Adam), "optimizer", TypeError),
    ("mixed int", lambda: M.training_memory(10, mixed_precision=1), "mixed_precision", TypeError),
    (
        "mixed fp64",
        lambda: M.training_memory(10, mixed_precision=True, param_dtype="float64"),
        "param_dtype",
        ValueError,
    ),
    ("dtype unknown", lambda: M.training_memory(10, param_dtype="fp8"), "param_dtype", ValueError),
    (
        "dtype numpy",
        lambda: M.training_memory(10, state_dtype=np.float32),
        "state_dtype",
        TypeError,
    ),
    (
        "activations negative",
        lambda: M.training_memory(10, activation_bytes=-1),
        "activation_bytes",
        ValueError,
    ),
    (
        "activations nan",
        lambda: M.training_memory(10, activation_bytes=float("nan")),
        "activation_bytes",
        ValueError,
    ),
    ("model not a module", lambda: M.model_training_memory([torch.ones(3)]), "model", TypeError),
    ("model no params", lambda: M.model_training_memory(nn.ReLU()), "model", ValueError),
    (
        "measure optimizer dict",
        lambda: M.measure_state_bytes(MODEL, {"lr": 0.1}),
        "optimizer",
        TypeError,
    ),
    ("measure model tensor", lambda: M.measure_state_bytes(torch.ones(2), OPT), "model", TypeError),
    ("saved forward tensor", lambda: M.saved_activation_bytes(torch.ones(2)), "forward", TypeError),
    (
        "saved model list",
        lambda: M.saved_activation_bytes(lambda: MODEL(torch.ones(1, 3)), [MODEL]),
        "model",
        TypeError,
    ),
    ("mlp sizes one", lambda: M.mlp_activation_elements(4, [8]), "sizes", ValueError),
    ("mlp sizes float", lambda: M.mlp_activation_elements(4, [8, 2.5]), "sizes", TypeError),
    ("mlp batch zero", lambda: M.mlp_activation_elements(0, [8, 2]), "batch", ValueError),
    (
        "mlp sizes tensor",
        lambda: M.mlp_activation_elements(4, torch.tensor([8, 2])),
        "sizes",
        ValueError,
    ),
]


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_mixed_dtype_model_is_refused():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2, dtype=torch.float64))
    expect_clear_error(lambda: M.model_training_memory(model), "dtypes", kind=ValueError)


def test_numpy_integer_n_params_is_accepted_and_exact():
    assert (
        M.training_memory(np.int64(10), "adam").states
        == M.training_memory(10, "adam").states
        == 160
    )
