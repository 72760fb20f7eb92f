"""A lean minibatch loop for many short runs (Chapter 8's sweeps).

:func:`companion.train.fit` is the book's training loop; for a sweep of dozens of tiny runs
on in-memory tensors, its per-epoch ``DataLoader`` costs more than the model. ``train_epochs``
does the same steps without it: for epoch ``e`` the rows are shuffled with a generator
seeded ``seed + e`` exactly as ``fit``'s ``DataLoader`` shuffles them (one draw for the
workers' base seed, then ``torch.randperm``), so for the same model, optimiser, data and
seed the two return the same weights (tested in ``tests/test_training_sweeps.py``).

Input policy (:mod:`companion.validation`): ``X`` floating ``(n, ...)`` with the model's
dtype, ``y`` ``(n,)``; ``epochs``, ``batch_size`` positive ints; ``max_grad_norm`` None or
> 0. A NaN/inf loss stops the run and is reported through ``diverged``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from companion.validation import (
    check_floating,
    check_int,
    check_positive,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = ["SweepRun", "evaluate_model", "train_epochs"]


@dataclass
class SweepRun:
    train_loss: list[float] = field(default_factory=list)  # mean loss of each epoch
    diverged: bool = False


def train_epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    scheduler=None,
    max_grad_norm: float | None = None,
) -> SweepRun:
    """Train in place for ``epochs`` epochs; ``scheduler.step()`` once per epoch, as ``fit``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {describe(optimizer)}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function f(outputs, y), got {describe(loss_fn)}")
    first = next(model.parameters(), None)
    check_floating(X, "X", like=first)
    check_tensor(y, "y")
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X and y must have the same, non-zero number of rows, got {len(X)} "
                         f"and {len(y)}")  # fmt: skip
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_int(seed, "seed", min=0)
    if max_grad_norm is not None:
        max_grad_norm = check_positive(max_grad_norm, "max_grad_norm")
    run, n = SweepRun(), len(X)
    model.train()
    for epoch in range(epochs):
        gen = torch.Generator().manual_seed(seed + epoch)
        # DataLoader first draws one number from its generator (the workers' base seed),
        # then RandomSampler permutes with it: doing the same reproduces fit's batches.
        torch.empty((), dtype=torch.int64).random_(generator=gen)
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            total += loss.item() * len(idx)
        run.train_loss.append(total / n)
        if not math.isfinite(run.train_loss[-1]):
            run.diverged = True
            break
        if scheduler is not None:
            scheduler.step()
    return run


@torch.no_grad()
def evaluate_model(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn) -> dict[str, float]:
    """``{"loss": mean loss, "acc": accuracy}`` of a classifier on ``(X, y)``, in eval mode."""
    was = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was)
    return {"loss": loss_fn(out, y).item(), "acc": (out.argmax(1) == y).float().mean().item()}
