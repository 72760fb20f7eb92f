"""Answer checks for Chapter 2's exercises (core concepts)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from companion.exercises import (
    CheckFailed,
    Passed,
    expect_close,
    expect_integer,
    expect_shape,
    passed,
)
from companion.mlp import ACTIVATIONS, activation_derivative, compose_linear, mlp_parameter_count


def check_mlp_parameter_count(answer, widths: Sequence[int]) -> Passed:
    """Exercise ch02-count: weights + biases of an MLP with layer widths ``widths``."""
    widths = tuple(widths)
    expected = mlp_parameter_count(widths)
    weights_only = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    if answer == weights_only:
        raise CheckFailed(
            f"{answer:,} counts the weights only; every layer also has one bias per output "
            f"unit ({sum(widths[1:]):,} biases in all)"
        )
    if isinstance(answer, int) and answer == expected - widths[-1]:
        raise CheckFailed("you left out the biases of the output layer")
    expect_integer(
        answer, expected, "the parameter count", hint="sum over layers of d_in*d_out + d_out"
    )
    return passed(f"an MLP with widths {widths} has {expected:,} parameters")


def check_composed_linear(W, b, first: nn.Linear, second: nn.Linear) -> Passed:
    """Exercise ch02-collapse: ``second(first(x)) == x @ W.T + b`` for every ``x``."""
    W_true, b_true = compose_linear([first, second])
    W_true, b_true = W_true.double(), b_true.double()
    order_hint = "the layer applied first stands on the right: W = W2 @ W1"
    if torch.is_tensor(W) and tuple(W.shape) == tuple(W_true.shape[::-1]) != tuple(W_true.shape):
        raise CheckFailed(
            f"W has shape {tuple(W.shape)}, the transpose of what nn.Linear expects "
            f"{tuple(W_true.shape)} = (d_out, d_in)"
        )
    W = expect_shape(W, tuple(W_true.shape), "W")
    b = expect_shape(b, tuple(b_true.shape), "b")
    W1, W2 = first.weight.detach().double(), second.weight.detach().double()
    if W1.shape[1] == W2.shape[0] and W.shape == (W1 @ W2).shape:
        if torch.allclose(W, W1 @ W2, atol=1e-5) and not torch.allclose(W, W_true, atol=1e-5):
            raise CheckFailed(f"W multiplies the weights in the wrong order; {order_hint}")
    expect_close(W, W_true, "W", atol=1e-5, hint=order_hint + " (nn.Linear computes x @ W.T + b)")
    if torch.allclose(b, second.bias.detach().double(), atol=1e-5):
        raise CheckFailed("b is only the second layer's bias; the first bias passes through W2 too")
    expect_close(b, b_true, "b", atol=1e-5, hint="b = W2 @ b1 + b2")
    return passed("two linear layers without an activation are one linear layer")


def check_activation_derivative(values, name: str, z) -> Passed:
    """Exercise ch02-derivative: ``values`` must be d phi/dz of activation ``name`` at ``z``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}")
    z = torch.as_tensor(z, dtype=torch.float64)
    expected = activation_derivative(name, z)
    got = expect_shape(values, tuple(z.shape), f"the derivatives of {name}")
    if torch.allclose(got, ACTIVATIONS[name](z), atol=1e-6) and not torch.allclose(
        got, expected, atol=1e-6
    ):
        raise CheckFailed(f"these are the values of {name}(z), not of its derivative")
    expect_close(
        got,
        expected,
        f"the derivatives of {name}",
        atol=1e-6,
        hint="sigmoid' = s(1 - s), tanh' = 1 - tanh(z)^2, relu' = 1 if z > 0 else 0",
    )
    return passed(f"derivatives of {name} at {z.tolist()}")
