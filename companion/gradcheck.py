"""Checking a gradient by finite differences (Chapter 4, "Gradient checking").

:func:`finite_difference_grad` evaluates the central difference, eq.
(ch04-central-difference), ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry
of ``x``; its error is ``O(eps^2)`` (truncation) plus ``O(u / eps)`` (rounding, ``u`` the unit
roundoff), so use float64. :func:`relative_error` is the number a gradient check reports:
an *elementwise* relative error, so that a wrong small entry cannot hide behind a large one.

Input policy (see :mod:`companion.validation`): ``x`` must be a floating-point tensor (an
integer tensor would truncate ``x +- eps`` and return garbage, so it is refused with a
``TypeError``); ``eps`` a finite positive number.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from companion.validation import check_nonnegative, check_positive, check_tensor

__all__ = ["finite_difference_grad", "relative_error"]


def finite_difference_grad(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Central differences of the scalar function ``f`` at every entry of ``x`` (any shape).

    Returns a tensor of ``x``'s shape and dtype. ``f`` is called ``2 x.numel()`` times with a
    perturbed copy of ``x`` and must return a one-element tensor.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of one tensor, got {type(f).__name__}")
    x = check_tensor(x, "x", dtype="float")
    eps = check_positive(eps, "eps")
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
            raise ValueError(
                f"f must return a scalar tensor, got {type(up).__name__}"
                + (f" of shape {tuple(up.shape)}" if torch.is_tensor(up) else "")
            )
        gflat[i] = (up - down).item() / (2 * eps)
    return grad


def relative_error(a: torch.Tensor, b: torch.Tensor, floor: float = 1e-12) -> float:
    """``max_i |a_i - b_i| / max(|a_i|, |b_i|, floor)``: the worst *elementwise* relative error.

    Each entry is compared with its own size, so an error of 100% in an entry of size
    ``1e-3`` shows up even next to entries of size ``1e3`` (a per-tensor max-norm would
    report ``1e-6`` there). ``floor`` keeps entries that are both (near) zero from dividing
    by zero: below it the error is absolute.
    """
    a = check_tensor(a, "a", dtype="float")
    b = check_tensor(b, "b", dtype="float")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    floor = check_nonnegative(floor, "floor")
    if a.numel() == 0:
        return 0.0
    a, b = a.double(), b.double()
    scale = torch.maximum(a.abs(), b.abs()).clamp_min(floor)
    if floor == 0:
        scale = torch.where(scale == 0, torch.ones_like(scale), scale)  # 0 vs 0: no error
    return ((a - b).abs() / scale).max().item()
