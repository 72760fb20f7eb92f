"""Backpropagation written by hand for a multilayer perceptron (Chapter 4).

Notation (Chapter 4, "Notation"), for layer ``l = 1..L`` and a batch of ``n`` rows:

* pre-activation ``Z_l = A_{l-1} W_l^T + b_l``                      eq. (ch04-batch-forward)
* activation ``A_l = f(Z_l)`` (the output layer is linear: ``A_L = Z_L``, the logits)
* error term ``Delta_l = dL/dZ_l``, shape ``(n, n_l)``              eq. (ch04-delta-def)
* output layer, softmax + mean cross-entropy: ``Delta_L = (softmax(Z_L) - Y) / n``
                                                                     eq. (ch04-delta-out)
* hidden layer: ``Delta_l = (Delta_{l+1} W_{l+1}) * f'(Z_l)``       eq. (ch04-batch-hidden)
* gradients: ``dL/dW_l = Delta_l^T A_{l-1}``, ``dL/db_l = 1^T Delta_l``
                                                                     eq. (ch04-batch-grads)

``W_l`` has shape ``(n_l, n_{l-1})`` and ``b_l`` shape ``(n_l,)``, as in ``torch.nn.Linear``,
so :meth:`ManualMLP.to_sequential` gives the autograd twin with the same weights.
Nothing here calls ``.backward()``: the gradients come from the formulas above.
:func:`finite_difference_grad` and :class:`ManualLayer` (for ``torch.autograd.gradcheck``)
check them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
from torch import nn

from companion.mlp import ACTIVATIONS, activation_derivative

# The activations this chapter's manual backward pass supports; f and f' (written in terms
# of z) come from companion.mlp, the one place the book defines them.
SUPPORTED_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
_MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
INITS = ("default", "xavier", "he")


def _activation(name: str) -> tuple[Callable, Callable]:
    """(f, f') for ``name``; f' maps z to df/dz element-wise."""
    if name not in SUPPORTED_ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(SUPPORTED_ACTIVATIONS)}"
        )
    return ACTIVATIONS[name], partial(activation_derivative, name)


def init_layer(n_in: int, n_out: int, scheme: str, generator, dtype) -> tuple:
    """``(W, b)`` with ``W``: (n_out, n_in). ``default``: torch.nn.Linear's U(+-1/sqrt(n_in))
    for W and b; ``xavier``: U(+-sqrt(6/(n_in+n_out))), b = 0 (Glorot and Bengio, 2010);
    ``he``: N(0, 2/n_in), b = 0 (He et al., 2015)."""
    if scheme == "default":
        bound = n_in**-0.5
        W = (torch.rand(n_out, n_in, generator=generator, dtype=dtype) * 2 - 1) * bound
        b = (torch.rand(n_out, generator=generator, dtype=dtype) * 2 - 1) * bound
    elif scheme == "xavier":
        bound = (6 / (n_in + n_out)) ** 0.5
        W = (torch.rand(n_out, n_in, generator=generator, dtype=dtype) * 2 - 1) * bound
        b = torch.zeros(n_out, dtype=dtype)
    elif scheme == "he":
        W = torch.randn(n_out, n_in, generator=generator, dtype=dtype) * (2 / n_in) ** 0.5
        b = torch.zeros(n_out, dtype=dtype)
    else:
        raise ValueError(f"unknown init {scheme!r}; expected one of {INITS}")
    return W, b


def softmax_cross_entropy(logits: torch.Tensor, y: torch.Tensor):
    """Mean cross-entropy of ``logits`` (n, C) against labels ``y`` (n,), and its
    error term ``Delta_L = dL/dZ_L = (softmax(Z_L) - onehot(y)) / n``, eq. (ch04-delta-out)."""
    if logits.ndim != 2 or y.ndim != 1 or len(y) != len(logits):
        raise ValueError(
            f"expected logits (n, C) and labels (n,), got {tuple(logits.shape)} and "
            f"{tuple(y.shape)}"
        )
    if y.dtype != torch.int64 or (y < 0).any() or (y >= logits.shape[1]).any():
        raise ValueError(f"labels must be int64 in [0, {logits.shape[1]})")
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # stable log-softmax
    n = len(y)
    loss = -log_p[torch.arange(n), y].mean()
    delta = log_p.exp()
    delta[torch.arange(n), y] -= 1
    return loss, delta / n


class ManualMLP:
    """An MLP ``sizes[0] -> ... -> sizes[-1]`` with a hand-written backward pass.

    ``activation`` is used in every hidden layer; the last layer is linear (logits).
    ``params``: list of ``(W_l, b_l)``, ``W_l``: (sizes[l], sizes[l-1]).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        init: str = "default",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ):
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"sizes must be >= 2 positive ints, got {sizes!r}")
        self.f, self.f_prime = _activation(activation)
        self.activation, self.sizes = activation, list(sizes)
        self.params = [
            init_layer(n_in, n_out, init, generator, dtype)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        ]

    @classmethod
    def from_sequential(cls, model: nn.Sequential, activation: str) -> ManualMLP:
        """Copy the weights of a ``Linear, act, ..., Linear`` stack (as ``to_sequential`` makes)."""
        layers = [m for m in model if isinstance(m, nn.Linear)]
        if not layers:
            raise ValueError("the model has no nn.Linear layers")
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
            lin = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype)
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

    def forward(self, X: torch.Tensor):
        """Logits ``Z_L`` (n, sizes[-1]) and the cache ``[(A_{l-1}, Z_l), ...]`` for backward."""
        if not torch.is_tensor(X):
            raise TypeError(f"X must be a tensor, got {type(X).__name__}")
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(
                f"expected X of shape (n, {self.sizes[0]}), got {tuple(X.shape)}"
                + (" (flatten images first: X.reshape(len(X), -1))" if X.ndim > 2 else "")
            )
        A = X.to(self.params[0][0].dtype)
        cache = []
        for i, (W, b) in enumerate(self.params):
            Z = A @ W.T + b  # (n, n_l), eq. (ch04-batch-forward)
            cache.append((A, Z))
            A = self.f(Z) if i < len(self.params) - 1 else Z
        return A, cache

    __call__ = forward

    def backward(self, cache, delta_out: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[(dL/dW_l, dL/db_l), ...]`` from ``Delta_L`` = ``delta_out`` (n, sizes[-1])."""
        n = len(cache[0][0])
        if delta_out.shape != (n, self.sizes[-1]):
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
    _, grads = mlp.loss_and_grads(X, y)
    return [float(dW.norm()) for dW, _ in grads]


class ManualLayer(torch.autograd.Function):
    """One layer ``A = f(A_prev W^T + b)`` whose backward is our formula, so that
    ``torch.autograd.gradcheck`` can test it against finite differences.

    ``ManualLayer.apply(A_prev, W, b, "tanh")``; shapes (n, n_in), (n_out, n_in), (n_out,).
    """

    @staticmethod
    def forward(ctx, A_prev, W, b, activation: str):
        f, f_prime = _activation(activation)
        if A_prev.ndim != 2 or W.ndim != 2 or A_prev.shape[1] != W.shape[1]:
            raise ValueError(
                f"A_prev (n, n_in) and W (n_out, n_in) do not fit: {tuple(A_prev.shape)} and "
                f"{tuple(W.shape)}"
            )
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},), got {tuple(b.shape)}")
        Z = A_prev @ W.T + b
        ctx.save_for_backward(A_prev, W, Z)
        ctx.f_prime = f_prime
        return f(Z)

    @staticmethod
    def backward(ctx, grad_A):
        A_prev, W, Z = ctx.saved_tensors
        delta = grad_A * ctx.f_prime(Z)  # dL/dZ = dL/dA * f'(Z)
        return delta @ W, delta.T @ A_prev, delta.sum(0), None


def finite_difference_grad(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry
    of ``x`` (any shape); ``f`` returns a scalar. Error O(eps^2) plus rounding O(u/eps):
    use float64."""
    if not torch.is_tensor(x):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        if not (torch.is_tensor(up) and up.numel() == 1):
            raise ValueError("f must return a scalar tensor")
        gflat[i] = (up - down).item() / (2 * eps)
    return grad


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """``max|a - b| / max(max|a|, max|b|, tiny)``: the number a gradient check reports."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} and {tuple(b.shape)}")
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-300)
    return (a - b).abs().max().item() / scale
