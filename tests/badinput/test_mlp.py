"""Plausible mistakes with Chapter 2's neuron, activations and MLP (companion.mlp)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.mlp import MLP, Neuron, activation_derivative, compose_linear, mlp_parameter_count
from tests.badinput.harness import expect_clear_error

_mlp = MLP((4, 3, 2))
_neuron = Neuron(4)

BAD_CALLS = [
    # mlp_parameter_count: widths
    ("widths", TypeError, lambda: mlp_parameter_count(64)),
    ("widths", TypeError, lambda: mlp_parameter_count("64,10")),
    ("widths", TypeError, lambda: mlp_parameter_count(np.array([64, 10]))),
    ("widths", TypeError, lambda: mlp_parameter_count(torch.tensor([64, 10]))),
    ("widths", ValueError, lambda: mlp_parameter_count((64,))),
    ("widths", ValueError, lambda: mlp_parameter_count(())),
    ("widths[1]", ValueError, lambda: mlp_parameter_count((64, -10))),
    ("widths[1]", ValueError, lambda: mlp_parameter_count((64, 0, 10))),
    ("widths[0]", ValueError, lambda: mlp_parameter_count((-64, -10))),
    ("widths[1]", TypeError, lambda: mlp_parameter_count((64, 10.0))),
    ("widths[1]", TypeError, lambda: mlp_parameter_count((64, 10.5))),
    ("widths[1]", TypeError, lambda: mlp_parameter_count((64, True))),
    ("widths[0]", TypeError, lambda: mlp_parameter_count(("64", 10))),
    ("widths[1]", TypeError, lambda: mlp_parameter_count((64, None))),
    # MLP: construction
    ("widths", ValueError, lambda: MLP((64,))),
    ("widths[1]", ValueError, lambda: MLP((64, -5, 10))),
    ("widths[2]", TypeError, lambda: MLP((64, 5, True))),
    ("widths", TypeError, lambda: MLP(64)),
    ("activation", ValueError, lambda: MLP((4, 2), activation="softsign")),
    ("activation", ValueError, lambda: MLP((4, 2), activation="ReLU")),
    ("activation", TypeError, lambda: MLP((4, 2), activation=torch.relu)),
    ("activation", TypeError, lambda: MLP((4, 2), activation=nn.ReLU())),
    # MLP: forward
    ("x", TypeError, lambda: _mlp(np.zeros((5, 4), dtype=np.float32))),
    ("x", TypeError, lambda: _mlp([[0.0] * 4] * 5)),
    ("x", TypeError, lambda: _mlp(torch.zeros(5, 4, dtype=torch.float64))),
    ("x", TypeError, lambda: _mlp(torch.zeros(5, 4, dtype=torch.long))),
    ("x", TypeError, lambda: _mlp(torch.zeros(5, 4, dtype=torch.bool))),
    ("x", ValueError, lambda: _mlp(torch.zeros(4))),
    ("x", ValueError, lambda: _mlp(torch.zeros(5, 5))),
    ("x", ValueError, lambda: _mlp(torch.zeros(5, 1, 2, 2))),
    # Neuron
    ("d_in", ValueError, lambda: Neuron(0)),
    ("d_in", ValueError, lambda: Neuron(-3)),
    ("d_in", TypeError, lambda: Neuron(3.0)),
    ("d_in", TypeError, lambda: Neuron(True)),
    ("activation", ValueError, lambda: Neuron(3, activation="step")),
    ("x", TypeError, lambda: _neuron(torch.zeros(2, 4, dtype=torch.float64))),
    ("x", ValueError, lambda: _neuron(torch.zeros(2, 3))),
    ("x", TypeError, lambda: _neuron(np.zeros((2, 4), dtype=np.float32))),
    # activation_derivative
    ("name", ValueError, lambda: activation_derivative("softmax", torch.zeros(3))),
    ("name", TypeError, lambda: activation_derivative(torch.sigmoid, torch.zeros(3))),
    ("z", TypeError, lambda: activation_derivative("relu", [1.0, 2.0])),
    ("z", TypeError, lambda: activation_derivative("relu", np.zeros(3))),
    ("z", TypeError, lambda: activation_derivative("sigmoid", torch.tensor([-2, 0, 2]))),
    # compose_linear
    ("layers", TypeError, lambda: compose_linear(nn.Linear(3, 2))),
    ("layers", ValueError, lambda: compose_linear([])),
    ("layers[1]", TypeError, lambda: compose_linear([nn.Linear(3, 4), nn.ReLU()])),
    ("layers", ValueError, lambda: compose_linear([nn.Linear(3, 5), nn.Linear(6, 2)])),
    ("layers", TypeError, lambda: compose_linear(nn.Sequential(nn.Linear(3, 2)).state_dict())),
]


@pytest.mark.parametrize(
    "name,kind,call", BAD_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CALLS)]
)
def test_clear_error(name, kind, call):
    expect_clear_error(call, name, kind=kind)


# Inputs a learner may reasonably pass that are right: each gives the correct answer,
# checked against an independent reference.
@pytest.mark.parametrize(
    "widths",
    [(64, 64, 10), [64, 64, 10], (np.int64(64), np.int32(64), 10), (torch.tensor(64), 64, 10)],
)
def test_parameter_count_accepts_integer_types(widths):
    reference = sum(
        p.numel() for p in nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 10)).parameters()
    )
    assert mlp_parameter_count(widths) == reference == 4810


def test_float64_model_takes_float64_data():
    mlp = MLP((4, 3, 2)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    reference = mlp.layers[1](torch.relu(mlp.layers[0](x)))
    torch.testing.assert_close(mlp(x), reference)


def test_relu_derivative_at_zero_follows_pytorch():
    z = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    (grad,) = torch.autograd.grad(torch.relu(z).sum(), z)
    torch.testing.assert_close(activation_derivative("relu", z.detach()), grad)
