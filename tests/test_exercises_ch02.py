"""Chapter 2's exercise checks accept right answers and say what is wrong with wrong ones."""

import pytest
import torch
from torch import nn

from companion.exercises import CheckFailed
from companion.exercises.ch02 import (
    check_activation_derivative,
    check_composed_linear,
    check_mlp_parameter_count,
)


def test_parameter_count_check():
    widths = (64, 128, 64, 10)
    right = 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert check_mlp_parameter_count(right, widths)
    with pytest.raises(CheckFailed, match="weights only"):
        check_mlp_parameter_count(64 * 128 + 128 * 64 + 64 * 10, widths)
    with pytest.raises(CheckFailed, match="output layer"):
        check_mlp_parameter_count(right - 10, widths)
    with pytest.raises(CheckFailed, match=r"expected 17,226 \(\+1\)"):
        check_mlp_parameter_count(right + 1, widths)
    with pytest.raises(CheckFailed, match="whole number"):
        check_mlp_parameter_count("17226", widths)


def test_composed_linear_check():
    torch.manual_seed(0)
    first, second = nn.Linear(3, 4), nn.Linear(4, 2)
    W1, b1, W2, b2 = (t.detach() for t in (first.weight, first.bias, second.weight, second.bias))
    assert check_composed_linear(W2 @ W1, W2 @ b1 + b2, first, second)
    with pytest.raises(CheckFailed, match="transpose"):
        check_composed_linear((W2 @ W1).T, W2 @ b1 + b2, first, second)
    with pytest.raises(CheckFailed, match="only the second layer's bias"):
        check_composed_linear(W2 @ W1, b2, first, second)
    with pytest.raises(CheckFailed, match="b differs"):
        check_composed_linear(W2 @ W1, b1[:2] + b2, first, second)
    sq1, sq2 = nn.Linear(3, 3), nn.Linear(3, 3)
    A1, A2 = sq1.weight.detach(), sq2.weight.detach()
    with pytest.raises(CheckFailed, match="wrong order"):
        check_composed_linear(A1 @ A2, A2 @ sq1.bias.detach() + sq2.bias.detach(), sq1, sq2)


def test_activation_derivative_check():
    z = torch.tensor([-2.0, 0.0, 2.0])
    s = torch.sigmoid(z)
    assert check_activation_derivative(s * (1 - s), "sigmoid", z)
    assert check_activation_derivative([0.0, 0.0, 1.0], "relu", [-2.0, 0.0, 2.0])
    with pytest.raises(CheckFailed, match="not of its derivative"):
        check_activation_derivative(s, "sigmoid", z)
    with pytest.raises(CheckFailed, match="shape"):
        check_activation_derivative([0.1, 0.25], "sigmoid", z)
    with pytest.raises(CheckFailed, match="differs"):
        check_activation_derivative(1 - s, "sigmoid", z)
