"""The neuron, activation functions and the multilayer perceptron (Chapter 2).

* :class:`Neuron` -- one artificial neuron written out by hand, Eq. (ch02-neuron):
  ``y = phi(w . x + b)``. A layer of such neurons is exactly ``nn.Linear`` followed by the
  activation; the tests prove it.
* :data:`ACTIVATIONS` and :func:`activation_derivative` -- sigmoid, tanh, ReLU, GELU and the
  identity, with closed-form derivatives (checked against autograd), Eq. (ch02-activations).
* :func:`compose_linear` -- a stack of linear layers *without* activations is one linear
  map, Eq. (ch02-collapse): ``W = W_L ... W_1``, ``b = W_L(...(W_2 b_1 + b_2)...) + b_L``.
* :class:`MLP` -- a multilayer perceptron with configurable widths and activation, and
  :func:`mlp_parameter_count`, its parameter count in closed form, Eq. (ch02-mlp-params).

Shapes: ``n`` = batch size, ``d_in`` = input features, ``d_out`` = outputs. Weights are
stored out x in, as in ``nn.Linear`` (book appendix "Notation").

Input policy (:mod:`companion.validation`): inputs must be tensors (a NumPy array or a list
is refused with a ``TypeError`` saying how to convert it); the floating dtype of ``x`` must
be the model's (float64 data into a float32 model is refused, not cast); integer tensors are
never used as floats. Widths are positive ints (NumPy integers accepted, ``bool`` refused).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from companion.parameters import count_parameters  # one definition for the whole book
from companion.validation import (
    check_choice,
    check_floating,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Neuron",
    "activation_derivative",
    "compose_linear",
    "count_parameters",
    "mlp_parameter_count",
]

Activation = Callable[[torch.Tensor], torch.Tensor]

# Eq. (ch02-activations). GELU is the exact (erf) form, as in F.gelu's default.
ACTIVATIONS: dict[str, Activation] = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": F.gelu,
}


def _check_activation(name: str, arg: str = "activation") -> Activation:
    if isinstance(name, str) and name not in ACTIVATIONS:
        raise ValueError(
            f"{arg}: unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[check_choice(name, arg, ACTIVATIONS)]


def _check_widths(widths, name: str = "widths") -> tuple[int, ...]:
    """At least two positive integer widths ``(d_in, ..., d_out)``, as a tuple of ints."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        if torch.is_tensor(widths) or hasattr(widths, "__array__"):
            raise TypeError(
                f"{name} must be a tuple or list of ints such as (64, 32, 10), got "
                f"{describe(widths)}; use tuple(int(w) for w in {name})"
            )
        raise TypeError(f"{name} must be a tuple or list of ints such as (64, 32, 10), "
                        f"got {describe(widths)}")  # fmt: skip
    if len(widths) < 2:
        raise ValueError(
            f"{name} must hold at least two widths (d_in, ..., d_out), got {tuple(widths)!r}"
        )
    return tuple(check_positive_int(w, f"{name}[{i}]") for i, w in enumerate(widths))


def activation_derivative(name: str, z: torch.Tensor) -> torch.Tensor:
    """d phi / dz at every entry of ``z`` (any shape), in closed form.

    sigmoid' = s(1 - s); tanh' = 1 - tanh^2; relu' = 1 for z > 0 else 0 (the value at the
    kink z = 0 is a convention: PyTorch uses 0); gelu' = Phi(z) + z * pdf(z);
    identity' = 1.
    """
    _check_activation(name, "name")
    check_tensor(z, "z", dtype="float")
    if name == "identity":
        return torch.ones_like(z)
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - torch.tanh(z) ** 2
    if name == "relu":
        return (z > 0).to(z.dtype)
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))  # gelu
    pdf = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return cdf + z * pdf


def _check_features(x: torch.Tensor, d_in: int, who: str, like: torch.Tensor) -> None:
    check_floating(x, "x", like=like)
    if x.ndim != 2 or x.shape[1] != d_in:
        raise ValueError(
            f"{who}: x must have shape (n, {d_in}), got {tuple(x.shape)}"
            + (
                "; flatten images first, e.g. x.reshape(len(x), -1)"
                if x.ndim > 2 and math.prod(x.shape[1:]) == d_in
                else ""
            )
        )


class Neuron(nn.Module):
    """One neuron, Eq. (ch02-neuron): ``y = phi(sum_i w_i x_i + b)``.

    ``x``: ``(n, d_in)`` -> ``y``: ``(n,)``. Parameters: ``weight`` ``(d_in,)`` and ``bias``
    (a scalar), ``d_in + 1`` numbers in all.
    """

    def __init__(self, d_in: int, activation: str = "relu"):
        super().__init__()
        d_in = check_positive_int(d_in, "d_in")
        self.phi = _check_activation(activation)
        self.activation = activation
        bound = 1 / math.sqrt(d_in)  # the same initial range as nn.Linear
        self.weight = nn.Parameter(torch.empty(d_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(()).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_features(x, self.weight.numel(), "Neuron", self.weight)
        z = (x * self.weight).sum(dim=1) + self.bias  # (n,) weighted sum plus bias
        return self.phi(z)


class MLP(nn.Module):
    """Multilayer perceptron: ``widths = (d_in, h_1, ..., h_k, d_out)``.

    Every layer but the last is ``nn.Linear`` followed by the activation; the last layer is
    linear (it returns logits or a regression output). ``x``: ``(n, d_in)`` ->
    ``(n, d_out)``. Number of parameters: :func:`mlp_parameter_count`.
    """

    def __init__(self, widths: Sequence[int], activation: str = "relu"):
        super().__init__()
        widths = _check_widths(widths)
        self.phi = _check_activation(activation)
        self.widths, self.activation = widths, activation
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    @property
    def depth(self) -> int:
        """Number of layers with weights (hidden layers + the output layer)."""
        return len(self.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_features(x, self.widths[0], "MLP", self.layers[0].weight)
        for layer in self.layers[:-1]:
            x = self.phi(layer(x))  # (n, h_i)
        return self.layers[-1](x)  # (n, d_out)


def mlp_parameter_count(widths: Sequence[int]) -> int:
    """Eq. (ch02-mlp-params): ``sum_l (w_{l-1} * w_l + w_l)`` -- weights plus biases."""
    widths = _check_widths(widths)
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))


def compose_linear(layers: Sequence[nn.Linear]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collapse ``x -> L_k(...L_2(L_1(x)))`` (no activations) into one map ``x @ W.T + b``.

    Eq. (ch02-collapse). ``layers[0]`` is applied first. Returns ``W`` ``(d_out, d_in)`` and
    ``b`` ``(d_out,)`` in ``nn.Linear``'s convention (``y = x W^T + b``), detached.
    """
    if isinstance(layers, nn.Linear) or not isinstance(layers, (Sequence, nn.ModuleList)):
        raise TypeError(f"layers must be a list of nn.Linear layers, got {describe(layers)}")
    layers = list(layers)
    if not layers:
        raise ValueError("layers must hold at least one nn.Linear layer, got an empty list")
    for i, layer in enumerate(layers):
        if not isinstance(layer, nn.Linear):
            raise TypeError(f"layers[{i}] must be an nn.Linear, got {type(layer).__name__}")
    first = layers[0]
    W = first.weight.detach().clone()
    b = (
        first.bias.detach().clone()
        if first.bias is not None
        else torch.zeros(first.out_features, dtype=W.dtype, device=W.device)
    )
    for layer in layers[1:]:
        if layer.in_features != W.shape[0]:
            raise ValueError(
                f"layers: a layer with in_features={layer.in_features} cannot follow one with "
                f"out_features={W.shape[0]}"
            )
        A = layer.weight.detach()
        W = A @ W  # (d_out_new, d_in)
        b = A @ b + (layer.bias.detach() if layer.bias is not None else 0)
    return W, b
