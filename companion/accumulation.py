"""Gradient accumulation and activation checkpointing (Chapter 9, §9.3).

**Gradient accumulation** computes the gradient of a large batch of ``B`` examples in ``k``
smaller micro-batches: each micro-batch's *mean* loss is weighted by its share ``B_j / B`` of the
examples before ``backward``, and the gradients add up in ``.grad`` (eq. ch09-accumulation).
The sum equals the large-batch gradient up to floating-point rounding; weighting every
micro-batch by ``1/k`` instead is right only when all micro-batches have the same size.
(Batch normalisation breaks the equality: its statistics are per micro-batch.)

**Activation checkpointing** (``torch.utils.checkpoint``) keeps only the inputs of ``s``
segments during the forward pass and recomputes the rest of each segment during backward:
activation memory falls from one tensor per layer to about ``s`` + one segment's worth, for
about one extra forward pass of compute. :func:`checkpointing_cost` measures both.

Inputs are validated as in :mod:`companion.validation` (float64 data for a float32 model is
refused, not cast; the message names the argument).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint_sequential

from companion.memory import saved_activation_bytes
from companion.validation import (
    check_floating,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "CheckpointCost",
    "accumulated_gradients",
    "checkpointing_cost",
    "large_batch_gradients",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check(model, X, y, loss_fn):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    X = check_tensor(X, "X", dtype="float")
    check_floating(X, "X", like=params[0])
    if not torch.is_tensor(y):
        raise TypeError(f"y must be a torch.Tensor, got {describe(y)}")
    if len(y) != len(X):
        raise ValueError(f"y must have one entry per row of X ({len(X)}), got {len(y)}")
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function (outputs, targets) -> mean loss, got {describe(loss_fn)}"
        )
    return params


def large_batch_gradients(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn
) -> list[torch.Tensor]:
    """Gradients of ``loss_fn(model(X), y)`` (a batch mean) for every trainable parameter."""
    params = _check(model, X, y, loss_fn)
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    return [p.grad.detach().clone() for p in params]


def accumulated_gradients(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn, micro_batches: int
) -> list[torch.Tensor]:
    """The same gradients as :func:`large_batch_gradients`, computed in ``micro_batches`` pieces.

    ``X`` (B, ...) is split into ``micro_batches`` consecutive pieces (sizes may differ by one
    when ``B`` is not a multiple); each piece's mean loss is weighted by ``B_j / B`` and
    back-propagated, and ``.grad`` accumulates the sum (eq. ch09-accumulation). Only one
    micro-batch's activations exist at a time.
    """
    params = _check(model, X, y, loss_fn)
    k = check_positive_int(micro_batches, "micro_batches")
    if k > len(X):
        raise ValueError(f"micro_batches ({k}) cannot exceed the batch size ({len(X)})")
    model.zero_grad(set_to_none=True)
    for Xj, yj in zip(X.tensor_split(k), y.tensor_split(k), strict=True):
        (loss_fn(model(Xj), yj) * (len(Xj) / len(X))).backward()
    return [p.grad.detach().clone() for p in params]


@dataclass(frozen=True)
class CheckpointCost:
    """Activation bytes saved for backward and seconds per forward+backward, with and without."""

    segments: int
    plain_bytes: int
    checkpointed_bytes: int
    plain_seconds: float
    checkpointed_seconds: float

    @property
    def memory_ratio(self) -> float:
        return self.checkpointed_bytes / self.plain_bytes

    @property
    def time_ratio(self) -> float:
        return self.checkpointed_seconds / self.plain_seconds


def checkpointing_cost(
    model: nn.Sequential, X: torch.Tensor, segments: int, repeats: int = 5
) -> CheckpointCost:
    """Measure activation checkpointing of a ``nn.Sequential`` split into ``segments`` pieces.

    Memory: bytes of the tensors autograd saves (:func:`companion.memory.saved_activation_bytes`).
    Time: the median over ``repeats`` of a forward and backward pass, with and without
    ``checkpoint_sequential(..., use_reentrant=False)``. The gradients of both are checked to
    be equal (checkpointing recomputes, it does not approximate).
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {describe(model)}")
    X = check_tensor(X, "X", dtype="float")
    params = list(model.parameters())
    if params:
        check_floating(X, "X", like=params[0])
    s = check_positive_int(segments, "segments")
    if s > len(model):
        raise ValueError(f"segments ({s}) cannot exceed the number of layers ({len(model)})")
    repeats = check_positive_int(repeats, "repeats")
    X = X.detach().requires_grad_(True)  # checkpointing needs an input that carries gradients

    def plain():
        return model(X)

    def checkpointed():
        return checkpoint_sequential(model, s, X, use_reentrant=False)

    def grads(fn):
        model.zero_grad(set_to_none=True)
        fn().square().mean().backward()
        return [p.grad.clone() for p in params]

    for a, b in zip(grads(plain), grads(checkpointed), strict=True):
        torch.testing.assert_close(a, b)

    def seconds(fn):
        times = []
        for _ in range(repeats):
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            fn().square().mean().backward()
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    return CheckpointCost(
        segments=s,
        plain_bytes=saved_activation_bytes(plain, model),
        checkpointed_bytes=saved_activation_bytes(checkpointed, model),
        plain_seconds=seconds(plain),
        checkpointed_seconds=seconds(checkpointed),
    )
