"""Argument checks of the training loop (:func:`companion.train.fit`), in one place.

Each check raises a ``TypeError`` (wrong kind) or ``ValueError`` (wrong value) that names
the argument, following :mod:`companion.validation`. They guard against the silent
failures a learner meets with a training loop: an optimiser built for another model (it
trains nothing), a negative ``max_grad_norm`` (gradient ascent), metrics without validation
data (never computed), float64 data for float32 weights, and a NaN loss caused by NaN data
(not by the learning rate).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from companion.validation import (
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    describe,
)

Metric = Callable[[torch.Tensor, torch.Tensor], float]
PRECISIONS = ("fp32", "bf16", "fp16")


def check_path(path, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {describe(path)}")
    return Path(path)


def as_dataset(data, name: str) -> Dataset:
    """A ``Dataset`` as given, or an ``(X, y)`` pair of tensors as a ``TensorDataset``."""
    if isinstance(data, TensorDataset):
        tensors = data.tensors
    elif isinstance(data, Dataset):
        dataset = data
        tensors = None
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        tensors = tuple(data)
        for part, t in zip(("X", "y"), tensors, strict=True):
            if not torch.is_tensor(t):
                raise TypeError(
                    f"{name} given as (X, y) must hold two tensors, but {part} is "
                    f"{describe(t)}; convert it with torch.as_tensor(...) first"
                )
    else:
        raise TypeError(
            f"{name} must be a Dataset or an (X, y) pair of tensors, got {describe(data)}"
        )
    if tensors is not None:
        if any(t.ndim == 0 for t in tensors):
            raise ValueError(f"{name}: every tensor needs a first (row) axis, got a 0-d tensor")
        lengths = [len(t) for t in tensors]
        if len(set(lengths)) > 1:
            raise ValueError(f"{name}: X has {lengths[0]} rows but y has {lengths[1]}")
        dataset = data if isinstance(data, TensorDataset) else TensorDataset(*tensors)
    if len(dataset) == 0:
        raise ValueError(f"{name} is empty")
    return dataset


def check_inputs_match_model(dataset: Dataset, name: str, model: nn.Module) -> None:
    """Floating inputs must have the model's dtype (float64 data into float32 weights)."""
    param = next((p for p in model.parameters() if p.is_floating_point()), None)
    if param is None:
        return
    x = dataset.tensors[0] if isinstance(dataset, TensorDataset) else peek(dataset)[0]
    if torch.is_tensor(x) and x.is_floating_point() and x.dtype != param.dtype:
        raise TypeError(
            f"{name}: X has dtype {x.dtype} but the model's weights are {param.dtype}; "
            f"convert the data with .to({param.dtype}) (or the model with .to({x.dtype}))"
        )


def nonfinite_rows(dataset: Dataset) -> tuple[int, int]:
    """(number of rows holding NaN/inf in a floating tensor, index of the first); (0, -1)."""
    if isinstance(dataset, TensorDataset):
        bad = torch.zeros(len(dataset), dtype=torch.bool)
        for t in dataset.tensors:
            if t.is_floating_point():
                bad |= ~torch.isfinite(t.reshape(len(t), -1)).all(1).cpu()
    else:
        flags = []
        for i in range(len(dataset)):
            item = dataset[i]
            parts = item if isinstance(item, (tuple, list)) else (item,)
            flags.append(
                any(torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all()
                    for t in parts)
            )  # fmt: skip
        bad = torch.tensor(flags, dtype=torch.bool)
    n = int(bad.sum())
    return n, (int(bad.nonzero()[0, 0]) if n else -1)


def check_metrics(metrics) -> dict[str, Metric]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"metrics must be a dict such as {{'accuracy': accuracy}}, got {describe(metrics)}"
        )
    for key, fn in metrics.items():
        if not isinstance(key, str) or not callable(fn):
            raise TypeError(
                f"metrics must map names (str) to functions f(outputs, y), got "
                f"{key!r}: {describe(fn)}"
            )
    return dict(metrics)


def check_precision(precision, device: torch.device) -> str:
    check_choice(precision, "precision", PRECISIONS)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(
            f"precision='fp16' (float16 autocast with a gradient scaler) needs a CUDA device, "
            f"but device is {device}; use precision='bf16' or 'fp32' here"
        )
    if precision == "bf16":
        if device.type not in ("cuda", "cpu"):
            raise ValueError(
                f"precision='bf16' is supported on CUDA and the CPU, not on {device}; "
                "use precision='fp32'"
            )
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError(
                "precision='bf16' needs a GPU with bfloat16 support (Ampere or newer); "
                "use precision='fp16' on this GPU"
            )
    return precision


def model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def check_optimizer(optimizer, model: nn.Module) -> None:
    """The optimiser must update exactly the model's trainable parameters (by identity)."""
    if isinstance(optimizer, type):
        raise TypeError(
            f"optimizer is the class {optimizer.__name__}; build one first, e.g. "
            f"{optimizer.__name__}(model.parameters(), lr=0.1)"
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer such as "
            f"torch.optim.SGD(model.parameters(), lr=0.1), got {describe(optimizer)}"
        )
    in_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
    in_model = {id(p): p for p in model.parameters()}
    foreign = in_opt - in_model.keys()
    if foreign:
        raise ValueError(
            f"optimizer holds {len(foreign)} parameter tensor(s) that are not the model's: "
            "was it built for another model (or for a copy)? Build it from "
            "model.parameters() after creating the model"
        )
    for k, group in enumerate(optimizer.param_groups):
        if "lr" in group:  # NaN and inf pass torch's own check (lr < 0)
            check_nonnegative(group["lr"], f"optimizer lr (param group {k})")
    missing = [p for i, p in in_model.items() if p.requires_grad and i not in in_opt]
    if missing:
        raise ValueError(
            f"optimizer does not update {len(missing)} trainable parameter tensor(s) of the "
            "model; add them to the optimizer, or freeze them first with "
            "p.requires_grad_(False)"
        )


def check_fit_arguments(
    model, loss_fn, epochs, batch_size, val_data, metrics, scheduler, optimizer,
    max_grad_norm, seed, progress, restore_best, sync_every, pin_memory, checkpoint_path,
):  # fmt: skip
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module instance, got {describe(model)}")
    check_optimizer(optimizer, model)
    if isinstance(loss_fn, type):
        raise TypeError(
            f"loss_fn is the class {loss_fn.__name__}; pass an instance, "
            f"{loss_fn.__name__}(), or a function such as nn.functional.cross_entropy"
        )
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function f(outputs, y) -> scalar tensor, got {describe(loss_fn)}"
        )
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_int(seed, "seed", min=0)
    if max_grad_norm is not None:
        max_grad_norm = check_positive(max_grad_norm, "max_grad_norm")
    if sync_every is not None:
        sync_every = check_positive_int(sync_every, "sync_every")
    check_bool(restore_best, "restore_best")
    for flag, value in (("progress", progress), ("pin_memory", pin_memory)):
        if value is not None:
            check_bool(value, flag)
    if checkpoint_path is not None:
        check_path(checkpoint_path, "checkpoint_path")
    if metrics and val_data is None:
        raise ValueError(
            f"metrics {sorted(metrics)} are computed on val_data, but no val_data was "
            "given; pass val_data=(X_val, y_val), or leave out metrics"
        )
    if scheduler is not None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"scheduler must have a step() method, got {describe(scheduler)}")
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError(
                "scheduler was built for another optimizer than the one given to fit; "
                "build it from this optimizer"
            )
    return epochs, batch_size, seed, max_grad_norm, sync_every


def on_cpu(dataset: Dataset) -> bool:
    """Whether the dataset yields CPU tensors (only those can be pinned)."""
    if isinstance(dataset, TensorDataset):
        return all(t.device.type == "cpu" for t in dataset.tensors)
    return all(t.device.type == "cpu" for t in peek(dataset) if torch.is_tensor(t))


def peek(dataset: Dataset) -> tuple:
    """The first item of a dataset, read without moving torch's global generator (a dataset
    that augments at random, such as ``cnn.RandomShift``, draws from it)."""
    with torch.random.fork_rng(devices=[]):
        item = dataset[0]
    return tuple(item) if isinstance(item, (tuple, list)) else (item,)


def check_running_loss(value: float, dataset, epoch: int, step: int, sync_every) -> None:
    """Stop with a clear error if the loss read from the device is NaN or infinite."""
    if math.isfinite(value):
        return
    n_bad, first = nonfinite_rows(dataset)
    if n_bad:
        raise ValueError(
            f"train_data contains NaN or infinite values in {n_bad} row(s) (first: row "
            f"{first}), and the training loss became {value} in epoch {epoch + 1}; remove or "
            "impute those rows - the learning rate is not to blame"
        )
    every = "once per epoch" if sync_every is None else f"every {sync_every} steps"
    raise FloatingPointError(
        f"the training loss became {value} in epoch {epoch + 1} (noticed at step {step}; "
        f"the loss is read {every}); the data are finite, so training diverged: try a "
        "smaller learning rate, or clip gradients with max_grad_norm"
    )
