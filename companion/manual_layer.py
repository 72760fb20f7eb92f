"""One fully connected layer whose backward pass is the book's formula (Chapter 4, §4.5).

``ManualLayer.apply(A_prev, W, b, activation)`` computes ``A = f(A_prev W^T + b)`` with
shapes ``(n, n_in)``, ``(n_out, n_in)``, ``(n_out,)`` -> ``(n, n_out)``, as a
``torch.autograd.Function`` whose ``backward`` is eq. (ch04-batch-hidden) and
(ch04-batch-grads) rather than autograd's, so that ``torch.autograd.gradcheck`` can test
the formula against finite differences.
"""

from __future__ import annotations

import torch

from companion.manual_mlp import activation_pair
from companion.validation import check_tensor

__all__ = ["ManualLayer"]


class ManualLayer(torch.autograd.Function):
    """``A = f(A_prev W^T + b)`` with a hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx, A_prev, W, b, activation: str):
        f, f_prime = activation_pair(activation)
        sizes: dict[str, int] = {}
        check_tensor(A_prev, "A_prev", ndim=2, dtype="float", shape=("n", "n_in"), sizes=sizes)
        check_tensor(W, "W", ndim=2, dtype="float", shape=("n_out", "n_in"), sizes=sizes)
        check_tensor(b, "b", dtype="float", shape=("n_out",), sizes=sizes)
        Z = A_prev @ W.T + b
        ctx.save_for_backward(A_prev, W, Z)
        ctx.f_prime = f_prime
        return f(Z)

    @staticmethod
    def backward(ctx, grad_A):
        A_prev, W, Z = ctx.saved_tensors
        delta = grad_A * ctx.f_prime(Z)  # dL/dZ = dL/dA * f'(Z)
        return delta @ W, delta.T @ A_prev, delta.sum(0), None
