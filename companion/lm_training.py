"""Training a language model by steps (Chapter 7, "A small GPT"): schedule, groups, loop.

* :func:`warmup_cosine` is the learning-rate multiplier of GPT-style training: a linear
  warm-up (the first steps of Adam, with its moment estimates still noisy, are taken
  small), then a cosine decay to a floor.
* :func:`parameter_groups` exempts biases and LayerNorm weights from weight decay.
* :func:`random_windows` draws training windows at random offsets of a token stream.
* :func:`train_lm` is a step-based loop (nanoGPT style): random windows every step, AdamW with
  the two groups, warm-up + cosine, gradient clipping; the training loss is accumulated on the
  device and read only every ``eval_every`` steps (no host synchronisation per step).
* :func:`lm_loss` / :func:`evaluate_lm`: mean cross-entropy in nats per predicted token.

Inputs are validated with :mod:`companion.validation` (tensors are not converted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from companion.validation import (
    check_fraction,
    check_index_tensor,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
    check_tensor,
    describe,
)

__all__ = [
    "warmup_cosine",
    "parameter_groups",
    "random_windows",
    "lm_loss",
    "evaluate_lm",
    "LMHistory",
    "train_lm",
]


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float = 0.1) -> float:
    """Learning-rate multiplier at ``step`` (0-based): linear warm-up from 1/warmup to 1 over
    ``warmup`` steps, then cosine decay from 1 to ``min_ratio`` at step ``total`` (and after).

    Eq. (ch07-schedule). Use with ``torch.optim.lr_scheduler.LambdaLR``, stepped once per
    optimiser step.
    """
    step = check_int(step, "step", min=0)
    warmup = check_int(warmup, "warmup", min=0)
    total = check_positive_int(total, "total")
    min_ratio = check_real(min_ratio, "min_ratio", low=0.0, high=1.0)
    if warmup > total:
        raise ValueError(f"warmup must be <= total, got warmup={warmup}, total={total}")
    if step < warmup:
        return (step + 1) / warmup
    if step >= total:
        return min_ratio
    progress = (step - warmup) / max(1, total - warmup)  # 0 -> 1
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimiser groups for ``torch.optim.AdamW``: matrices (2-D weights of linear layers
    and embeddings) decay with ``weight_decay``; biases and LayerNorm weights (1-D) do not
    (as in GPT-2 and nanoGPT: pulling a norm's gain or a bias towards zero is no useful
    penalty). Tied parameters appear once (``model.parameters()`` de-duplicates them)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    weight_decay = check_nonnegative(weight_decay, "weight_decay")
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]


def random_windows(tokens: torch.Tensor, block_size: int, batch_size: int, generator=None):
    """X, Y of shape (batch_size, block_size): windows at random offsets of the (n,) stream,
    Y = X shifted by one token."""
    check_tensor(tokens, "tokens", dtype="int", ndim=1)
    block_size = check_positive_int(block_size, "block_size")
    batch_size = check_positive_int(batch_size, "batch_size")
    if len(tokens) < block_size + 1:
        raise ValueError(f"tokens must hold at least block_size + 1 = {block_size + 1} ids, "
                         f"got {len(tokens)}")  # fmt: skip
    starts = torch.randint(0, len(tokens) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    return tokens[starts[:, None] + offsets], tokens[starts[:, None] + offsets + 1]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats): logits (B, T, V), targets (B, T)."""
    check_tensor(logits, "logits", dtype="float", ndim=3)
    check_tensor(targets, "targets", dtype="int", shape=tuple(logits.shape[:2]))
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


@torch.no_grad()
def evaluate_lm(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, batch_size: int = 256):
    """Mean loss (nats per predicted token) of ``model`` on windows X, Y (N, T), in eval mode
    (the previous mode is restored)."""
    check_tensor(X, "X", dtype="int", ndim=2)
    check_tensor(Y, "Y", dtype="int", shape=tuple(X.shape))
    batch_size = check_positive_int(batch_size, "batch_size")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    try:
        for i in range(0, len(X), batch_size):
            xb, yb = X[i : i + batch_size].to(device), Y[i : i + batch_size].to(device)
            total += lm_loss(model(xb), yb).double() * yb.numel()
    finally:
        model.train(was_training)
    return float(total) / Y.numel()


@dataclass
class LMHistory:
    """Losses recorded every ``eval_every`` steps: ``step``, ``train_loss`` (mean over the
    steps since the last record), ``val_loss`` and ``lr``."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


def train_lm(
    model: nn.Module,
    train_tokens: torch.Tensor,
    val_data: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    block_size: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    warmup: int = 50,
    min_ratio: float = 0.1,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.99),
    max_grad_norm: float = 1.0,
    eval_every: int = 100,
    seed: int = 0,
) -> LMHistory:
    """Train ``model`` (ids (B, T) -> logits (B, T, V)) for ``steps`` optimiser steps on random
    windows of ``train_tokens`` (n,), with AdamW (:func:`parameter_groups`) and the schedule
    :func:`warmup_cosine`; evaluate on ``val_data`` = (X, Y) every ``eval_every`` steps and at
    the end. Returns an :class:`LMHistory`."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    check_index_tensor(train_tokens, "train_tokens", shape=(None,))
    steps = check_positive_int(steps, "steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_positive(lr, "lr")
    max_grad_norm = check_positive(max_grad_norm, "max_grad_norm")
    check_fraction(betas[0], "betas[0]")
    check_fraction(betas[1], "betas[1]")
    warmup_cosine(0, warmup, steps, min_ratio)  # validates warmup, min_ratio
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(parameter_groups(model, weight_decay), lr=lr, betas=betas)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, warmup, steps, min_ratio)
    )
    gen = torch.Generator().manual_seed(seed)
    history = LMHistory()
    running, count = torch.zeros((), device=device), 0
    model.train()
    for step in range(1, steps + 1):
        xb, yb = random_windows(train_tokens, block_size, batch_size, gen)
        loss = lm_loss(model(xb.to(device)), yb.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        schedule.step()
        running += loss.detach()
        count += 1
        if step % eval_every == 0 or step == steps:
            train_loss = float(running) / count  # one host read per record
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"training loss became {train_loss} by step {step}; "
                                         "try a smaller lr")  # fmt: skip
            history.step.append(step)
            history.train_loss.append(train_loss)
            history.val_loss.append(evaluate_lm(model, *val_data))
            history.lr.append(optimizer.param_groups[0]["lr"])
            running, count = torch.zeros((), device=device), 0
    return history
