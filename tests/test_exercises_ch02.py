"""Chapter 2's exercise checks accept right answers in every common type and say what is
wrong with plausible wrong ones; none is passed by calling the helper the chapter used."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.exercises import CheckFailed
from companion.exercises.ch02 import (
    check_activation_derivative,
    check_collapse,
    check_count_mlp,
    check_softmax,
)
from companion.mlp import activation_derivative, compose_linear, mlp_parameter_count

# --- ch02-softmax ------------------------------------------------------------------------------


def softmax_right(z):
    e = torch.exp(z - z.max(dim=1, keepdim=True).values)
    return e / e.sum(dim=1, keepdim=True)


@pytest.mark.parametrize("cast", [lambda t: t, lambda t: t.double(), lambda t: t.float()])
def test_softmax_right(cast):
    assert check_softmax(lambda z: cast(softmax_right(z)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z: torch.exp(z) / torch.exp(z).sum(dim=1, keepdim=True), "overflows"),
        (lambda z: torch.exp(z) / torch.exp(z).sum(dim=0, keepdim=True), "each column"),
        (lambda z: z / z.sum(dim=1, keepdim=True), "exponentiate first"),
        (lambda z: softmax_right(z)[0], "keep the shape"),
        (lambda z: softmax_right(z).numpy(), "return a tensor"),
        (lambda z: torch.exp(z - z.max()) / torch.exp(z - z.max()).sum(), "differs"),
    ],
)
def test_softmax_wrong(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_softmax(wrong)


def test_softmax_refuses_torch_softmax():
    with pytest.raises(CheckFailed, match="softmax"):
        check_softmax(lambda z: torch.softmax(z, dim=1))
    with pytest.raises(CheckFailed, match="softmax"):
        check_softmax(lambda z: nn.functional.softmax(z, dim=1))


# --- ch02-count --------------------------------------------------------------------------------


def count_right(widths):
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))


@pytest.mark.parametrize("wrap", [int, float, np.int64, np.float64, torch.tensor, np.array])
def test_count_right_in_every_numeric_type(wrap):
    assert check_count_mlp(lambda w: wrap(count_right(w)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w: sum(a * b for a, b in zip(w[:-1], w[1:], strict=True)), "weights only"),
        (lambda w: count_right(w) - w[-1], "output layer"),
        (lambda w: sum(a * b + a for a, b in zip(w[:-1], w[1:], strict=True)), "output\\* unit"),
        (lambda w: 17_226, "expected"),  # the answer for (64, 128, 64, 10), copied
        (lambda w: str(count_right(w)), "whole number"),
    ],
)
def test_count_wrong(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_count_mlp(wrong)


def test_count_refuses_the_chapter_helper():
    with pytest.raises(CheckFailed, match="mlp_parameter_count"):
        check_count_mlp(lambda w: mlp_parameter_count(w))


# --- ch02-collapse -----------------------------------------------------------------------------


def collapse_right(layers):
    W = layers[0].weight.detach()
    b = layers[0].bias.detach() if layers[0].bias is not None else torch.zeros(W.shape[0])
    for layer in layers[1:]:
        W = layer.weight.detach() @ W
        b = layer.weight.detach() @ b
        if layer.bias is not None:
            b = b + layer.bias.detach()
    return W, b


@pytest.mark.parametrize("cast", [lambda t: t, lambda t: t.double()])
def test_collapse_right(cast):
    assert check_collapse(lambda layers: tuple(cast(t) for t in collapse_right(layers)))
    assert check_collapse(lambda layers: list(collapse_right(layers)))


def _wrong_order(layers):
    W, b = collapse_right(layers)
    if len(layers) == 2 and layers[0].weight.shape == layers[1].weight.shape:
        W = layers[0].weight.detach() @ layers[1].weight.detach()
    return W, b


def _last_bias_only(layers):
    W, _ = collapse_right(layers)
    return W, layers[-1].bias.detach() if layers[-1].bias is not None else torch.zeros(W.shape[0])


def _ignores_missing_bias(layers):  # treats a layer without bias as if b were 1
    W, b = collapse_right(layers)
    return W, b + 0.1


@pytest.mark.parametrize(
    "wrong, message",
    [
        (
            lambda layers: tuple(t.T if t.ndim == 2 else t for t in collapse_right(layers)),
            "transpose",
        ),
        (_wrong_order, "wrong order"),
        (_last_bias_only, "only the last layer's bias"),
        (_ignores_missing_bias, "b of the stack"),
        (lambda layers: collapse_right(layers)[0], "pair"),
    ],
)
def test_collapse_wrong(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_collapse(wrong)


def test_collapse_refuses_compose_linear():
    with pytest.raises(CheckFailed, match="compose_linear"):
        check_collapse(lambda layers: compose_linear(layers))


# --- ch02-derivative ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, right",
    [
        ("sigmoid", lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
        ("tanh", lambda z: 1 - torch.tanh(z) ** 2),
        ("tanh", lambda z: (1 - torch.tanh(z) ** 2).float()),
    ],
)
def test_derivative_right(name, right):
    assert check_activation_derivative(right, name)


@pytest.mark.parametrize(
    "name, wrong, message",
    [
        ("sigmoid", torch.sigmoid, "values of sigmoid"),
        ("sigmoid", lambda z: 1 - torch.sigmoid(z) ** 2, "tanh's rule"),
        ("tanh", lambda z: torch.tanh(z) * (1 - torch.tanh(z)), "sigmoid's rule"),
        ("tanh", lambda z: 1 - torch.tanh(z), "differs"),
        ("sigmoid", lambda z: torch.tensor([0.105, 0.25, 0.105]), "shape"),
    ],
)
def test_derivative_wrong(name, wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_activation_derivative(wrong, name)


def test_derivative_refuses_helpers_and_autograd():
    with pytest.raises(CheckFailed, match="activation_derivative"):
        check_activation_derivative(lambda z: activation_derivative("tanh", z), "tanh")

    def by_autograd(z):
        z = z.clone().requires_grad_(True)
        return torch.autograd.grad(torch.tanh(z).sum(), z)[0]

    with pytest.raises(CheckFailed, match="autograd|grad"):
        check_activation_derivative(by_autograd, "tanh")
    with pytest.raises(ValueError, match="name"):
        check_activation_derivative(lambda z: z, "relu")
