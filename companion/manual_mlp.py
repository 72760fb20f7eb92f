"""A multilayer perceptron with a backward pass written by hand (Chapter 4, §4.1 and §4.4).

Notation (the book's Notation appendix), for layer ``l = 1..L`` (``L`` layers) and a batch of
``n`` rows:

* pre-activation ``Z_l = A_{l-1} W_l^T + b_l``                      eq. (ch04-batch-forward)
* activation ``A_l = f(Z_l)`` (the output layer is linear: ``A_L = Z_L``, the logits)
* error term ``Delta_l = d loss/dZ_l``, shape ``(n, d_l)``              eq. (ch04-delta-def)
* output layer, softmax + mean cross-entropy: ``Delta_L = (softmax(Z_L) - Y) / n``,
  computed by :func:`companion.linear.softmax_cross_entropy`      eq. (ch04-delta-out)
* hidden layer: ``Delta_l = (Delta_{l+1} W_{l+1}) * f'(Z_l)``       eq. (ch04-batch-hidden)
* gradients: ``d loss/dW_l = Delta_l^T A_{l-1}``, ``d loss/db_l = 1^T Delta_l``
                                                                     eq. (ch04-batch-grads)

``W_l`` has shape ``(d_l, d_{l-1})`` and ``b_l`` shape ``(d_l,)``, as in ``torch.nn.Linear``
and as ``W`` in Chapter 3's softmax regression, so :meth:`ManualMLP.to_sequential` gives the
autograd twin with the same weights. Nothing here calls ``.backward()``.

The forward pass keeps, for every layer, the pair ``(A_{l-1}, Z_l)`` that the backward pass
needs (``A_{l-1}`` for the weight gradient, ``Z_l`` for ``f'(Z_l)``): that is the memory
cost of backpropagation, :meth:`ManualMLP.stored_values` numbers per batch.

Input policy (see :mod:`companion.validation`): ``X`` must be a floating tensor of the
network's dtype (float64 by default; nothing is cast), labels an integer tensor in range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
from torch import nn

from companion.initialization import INITS, init_layer
from companion.linear import softmax_cross_entropy
from companion.mlp import ACTIVATIONS, activation_derivative
from companion.validation import (
    check_choice,
    check_floating,
    check_positive_int,
    check_tensor,
)

__all__ = ["SUPPORTED_ACTIVATIONS", "ManualMLP", "activation_pair", "layer_gradient_norms"]

# The activations this chapter's manual backward pass supports; f and f' (written in terms
# of z) come from companion.mlp, the one place the book defines them.
SUPPORTED_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
_MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def activation_pair(name: str) -> tuple[Callable, Callable]:
    """``(f, f')`` for ``name``; ``f'`` maps ``z`` to ``df/dz`` entry by entry."""
    name = check_choice(name, "activation", SUPPORTED_ACTIVATIONS)
    return ACTIVATIONS[name], partial(activation_derivative, name)


class ManualMLP:
    """An MLP ``sizes[0] -> ... -> sizes[-1]`` with a hand-written backward pass.

    ``activation`` is used in every hidden layer; the last layer is linear (logits).
    ``params``: list of ``(W_l, b_l)``, ``W_l``: ``(sizes[l], sizes[l-1])``; ``init`` is one
    of :data:`companion.initialization.INITS`.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        init: str = "default",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ):
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes must be a list of layer widths, got {type(sizes).__name__}")
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least 2 widths (input and output), got {sizes!r}")
        self.sizes = [check_positive_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
        self.f, self.f_prime = activation_pair(activation)
        self.activation = activation
        check_choice(init, "init", INITS)
        self.params = [
            init_layer(n_in, n_out, init, generator, dtype)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True)
        ]

    @classmethod
    def from_sequential(cls, model: nn.Sequential, activation: str) -> ManualMLP:
        """Copy the weights of a ``Linear, act, ..., Linear`` stack (as ``to_sequential`` makes)."""
        if not isinstance(model, nn.Sequential):
            raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
        layers = [m for m in model if isinstance(m, nn.Linear)]
        if not layers:
            raise ValueError("model has no nn.Linear layers")
        sizes = [layers[0].in_features] + [m.out_features for m in layers]
        mlp = cls(sizes, activation, dtype=layers[0].weight.dtype)
        mlp.params = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in layers]
        return mlp

    def to_sequential(self) -> nn.Sequential:
        """The same network as ``torch.nn`` modules (an autograd twin with equal weights)."""
        if self.activation not in _MODULES:
            raise ValueError(f"no torch module for activation {self.activation!r}")
        mods: list[nn.Module] = []
        for i, (W, b) in enumerate(self.params):
            lin = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype, device=W.device)
            with torch.no_grad():
                lin.weight.copy_(W)
                lin.bias.copy_(b)
            mods.append(lin)
            if i < len(self.params) - 1:
                mods.append(_MODULES[self.activation]())
        return nn.Sequential(*mods)

    def parameters(self) -> list[torch.Tensor]:
        """``[W_1, b_1, W_2, ...]``: the tensors themselves, which optimisers update in place."""
        return [t for pair in self.params for t in pair]

    def to(self, device) -> ManualMLP:
        """Move every weight to ``device`` (in place); return ``self``."""
        self.params = [(W.to(device), b.to(device)) for W, b in self.params]
        return self

    def forward(self, X: torch.Tensor):
        """Logits ``Z_L`` ``(n, sizes[-1])`` and the cache ``[(A_{l-1}, Z_l), ...]``."""
        check_tensor(X, "X")
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(
                f"X must have shape (n, {self.sizes[0]}), got {tuple(X.shape)}"
                + (" (flatten images first: X.reshape(len(X), -1))" if X.ndim > 2 else "")
            )
        A = check_floating(X, "X", like=self.params[0][0])
        cache = []
        for i, (W, b) in enumerate(self.params):
            Z = A @ W.T + b  # (n, d_l), eq. (ch04-batch-forward)
            cache.append((A, Z))
            A = self.f(Z) if i < len(self.params) - 1 else Z
        return A, cache

    __call__ = forward

    def stored_values(self, n: int) -> int:
        """How many numbers the forward pass keeps for backward on a batch of ``n`` rows:
        ``n * sum_l (d_{l-1} + d_l)`` (``A_{l-1}`` and ``Z_l`` of every layer)."""
        n = check_positive_int(n, "n")
        return n * sum(a + b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    def backward(self, cache, delta_out: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[(dL/dW_l, dL/db_l), ...]`` from ``Delta_L`` = ``delta_out`` ``(n, sizes[-1])``."""
        if not isinstance(cache, list) or len(cache) != len(self.params):
            raise TypeError("cache must be the list that forward() returned for this network")
        n = len(cache[0][0])
        check_tensor(delta_out, "delta_out", dtype="float")
        if tuple(delta_out.shape) != (n, self.sizes[-1]):
            raise ValueError(
                f"delta_out must have shape ({n}, {self.sizes[-1]}), got {tuple(delta_out.shape)}"
            )
        grads = []
        delta = delta_out
        for i in range(len(self.params) - 1, -1, -1):
            A_prev, _ = cache[i]
            grads.append((delta.T @ A_prev, delta.sum(0)))  # eq. (ch04-batch-grads)
            if i > 0:
                W = self.params[i][0]
                delta = (delta @ W) * self.f_prime(cache[i - 1][1])  # eq. (ch04-batch-hidden)
        return grads[::-1]

    def loss_and_grads(self, X: torch.Tensor, y: torch.Tensor):
        """Mean cross-entropy on ``(X, y)`` and the gradients of every ``(W_l, b_l)``."""
        logits, cache = self.forward(X)
        loss, delta = softmax_cross_entropy(logits, y)
        return loss, self.backward(cache, delta)

    def flat_grads(self, X: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        """Gradients in the order of :meth:`parameters`."""
        return [g for pair in self.loss_and_grads(X, y)[1] for g in pair]


def layer_gradient_norms(mlp: ManualMLP, X: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Frobenius norm of ``dL/dW_l`` for every layer, first layer first (vanishing gradients)."""
    if not isinstance(mlp, ManualMLP):
        raise TypeError(f"mlp must be a ManualMLP, got {type(mlp).__name__}")
    _, grads = mlp.loss_and_grads(X, y)
    return [float(dW.norm()) for dW, _ in grads]
