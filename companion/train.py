"""The training loop used across the book (Chapter 2 onward).

``fit`` trains a model on a data set for a number of epochs and returns a
:class:`History`. It shows a tqdm progress bar (silent in CI and book builds), evaluates
on validation data each epoch, can stop early, and can checkpoint every epoch and resume
after an interruption. Resuming gives exactly the weights an uninterrupted run gives,
because everything random in an epoch is reproduced:

* the shuffle order of epoch ``e`` comes from a generator seeded with ``seed + e``;
* torch's global generators (dropout, noise; CPU and CUDA) are saved in the checkpoint
  and restored.

**Ready for the GPU.** The loop does not wait for the device on every step: the loss of
each step is added to a running sum *on the device*, which is read (one host
synchronisation) once per epoch, or every ``sync_every`` steps. A NaN or infinite loss
is therefore detected at the next read, not at the step that produced it; ``fit`` then
stops with an error that says whether the data contain NaN/inf (``ValueError``) or the
training diverged (``FloatingPointError``). On CUDA, ``precision="bf16"`` runs the forward
pass and the loss under bfloat16 autocast and ``precision="fp16"`` under float16 autocast
with a gradient scaler (:class:`torch.amp.GradScaler`); batches are copied from pinned
memory without blocking. On the CPU everything stays float32 by default; bf16 autocast is
allowed there, fp16 is refused.

Checkpoints are written atomically (a temporary file, then ``os.replace``) so an
interruption mid-write never leaves a half-written file, and they are loaded with
``torch.load(weights_only=True)``, which cannot execute code hidden in a file.

Inputs are checked with :mod:`companion.validation` (see its conventions): data are a
``Dataset`` or an ``(X, y)`` pair of tensors, never converted from NumPy silently; floating
``X`` must have the model's dtype (float64 data for a float32 model are refused, not cast);
hyper-parameters must be finite and in range; the optimiser must hold exactly the model's
trainable parameters. Those checks live in :mod:`companion.train_checks`.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from companion.runtime import as_device, is_quiet
from companion.train_checks import (
    PRECISIONS,
    Metric,
    as_dataset,
    check_fit_arguments,
    check_inputs_match_model,
    check_metrics,
    check_path,
    check_precision,
    check_running_loss,
    model_device,
    nonfinite_rows,
    on_cpu,
)
from companion.validation import (
    check_choice,
    check_labels,
    check_nonnegative,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "PRECISIONS",
    "EarlyStopping",
    "History",
    "accuracy",
    "evaluate",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
]
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose arg-max over classes equals the label.

    ``logits``: floating ``(n, C)`` with ``C >= 2``; ``y``: integer labels ``(n,)`` in
    ``[0, C)``. A single logit per row (binary logistic output) is refused: its arg-max is
    always 0; compare ``(logits[:, 0] > 0).long()`` with the labels instead.
    """
    check_tensor(logits, "logits", ndim=2, dtype="float")
    if logits.shape[1] < 2:
        raise ValueError(
            f"logits must have C >= 2 columns (one score per class), got shape "
            f"{tuple(logits.shape)}; for one logit per row use ((logits[:, 0] > 0).long() == y)"
        )
    check_labels(y, "y", logits.shape[1], n=logits.shape[0])
    return (logits.argmax(1) == y).float().mean().item()


@dataclass
class History:
    """Per-epoch metrics: ``metrics["train_loss"][e]`` is the value after epoch ``e + 1``."""

    metrics: dict[str, list[float]] = field(default_factory=dict)

    def append(self, **values: float) -> None:
        for name, value in values.items():
            self.metrics.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.metrics:
            raise KeyError(f"history has no metric {name!r}; it has {sorted(self.metrics)}")
        return self.metrics[name]

    def __len__(self) -> int:
        return max((len(v) for v in self.metrics.values()), default=0)

    def last(self, name: str) -> float:
        return self[name][-1]


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``min_delta >= 0``: an epoch counts as an improvement only if it beats the best value
    so far by more than ``min_delta`` (a negative value would count a worse epoch as better).
    """

    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 3
    min_delta: float = 0.0
    best: float | None = None
    bad_epochs: int = 0
    best_epoch: int = 0

    def __post_init__(self):
        if not isinstance(self.monitor, str) or not self.monitor:
            raise TypeError(f"monitor must be a metric name such as 'val_loss', got "
                            f"{describe(self.monitor)}")  # fmt: skip
        check_choice(self.mode, "mode", ("min", "max"))
        self.patience = check_positive_int(self.patience, "patience")
        self.min_delta = check_nonnegative(self.min_delta, "min_delta")

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float, epoch: int) -> bool:
        """Record this epoch's value; return True when training should stop."""
        if self.improved(value):
            self.best, self.bad_epochs, self.best_epoch = value, 0, epoch
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        self.best_epoch = state["best_epoch"]


def save_checkpoint(path: str | os.PathLike, state: Mapping) -> None:
    """Write ``state`` to ``path`` atomically: readers see the old file or the new one."""
    path = check_path(path, "path")
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a dict, got {describe(state)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(dict(state), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors and plain data only)."""
    path = check_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=_AUTOCAST_DTYPES[precision])


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data,
    loss_fn,
    metrics: Mapping[str, Metric] | None = None,
    batch_size: int = 512,
    device=None,
    precision: str = "fp32",
    name: str = "data",
) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``data`` (computed on all rows at once).

    ``precision`` as in :func:`fit`; outputs are gathered in float32 whatever it is.
    ``name`` is how errors refer to ``data`` (``fit`` passes ``"val_data"``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function f(outputs, y), got {describe(loss_fn)}")
    metrics = check_metrics(metrics)
    batch_size = check_positive_int(batch_size, "batch_size")
    device = as_device(device, "device") if device is not None else model_device(model)
    precision = check_precision(precision, device)
    dataset = as_dataset(data, name)
    check_inputs_match_model(dataset, name, model)
    was_training = model.training
    model.eval()
    outs, ys = [], []
    try:
        for xb, yb in DataLoader(dataset, batch_size=batch_size):
            with _autocast(device, precision):
                out = model(xb.to(device))
            outs.append(out.float())
            ys.append(yb.to(device))
    finally:
        model.train(was_training)
    out, y = torch.cat(outs), torch.cat(ys)
    result = {"loss": loss_fn(out, y).item()}
    if not math.isfinite(result["loss"]):
        n_bad, first = nonfinite_rows(dataset)
        if n_bad:
            raise ValueError(
                f"{name} contains NaN or infinite values in {n_bad} row(s) (first: row "
                f"{first}); the loss on it is {result['loss']}"
            )
    for key, fn in metrics.items():
        result[key] = float(fn(out, y))
    return result


def _check_early_stopping(early_stopping, val_data, metrics, restore_best) -> None:
    if early_stopping is None:
        if restore_best:
            raise ValueError(
                "restore_best=True needs early_stopping (it restores the epoch that "
                "early_stopping.monitor rated best)"
            )
        return
    if not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping must be an EarlyStopping, got {describe(early_stopping)}")
    known = ["train_loss"]
    if val_data is not None:
        known += ["val_loss"] + [f"val_{k}" for k in metrics]
    if early_stopping.monitor not in known:
        reason = "" if val_data is not None else " (no val_data given)"
        raise ValueError(
            f"early_stopping.monitor is {early_stopping.monitor!r} but fit records only "
            f"{known}{reason}"
        )


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train_data,
    *,
    epochs: int,
    batch_size: int = 64,
    val_data=None,
    metrics: Mapping[str, Metric] | None = None,
    scheduler=None,
    early_stopping: EarlyStopping | None = None,
    restore_best: bool = False,
    checkpoint_path: str | os.PathLike | None = None,
    max_grad_norm: float | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool | None = None,
    precision: str = "fp32",
    pin_memory: bool | None = None,
    sync_every: int | None = None,
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its :class:`History`.

    ``train_data`` / ``val_data``: a ``Dataset`` or an ``(X, y)`` pair of tensors.
    History keys: ``train_loss`` and, with validation data, ``val_loss`` and
    ``val_<metric>``. ``metrics`` are computed on ``val_data`` only; giving metrics without
    validation data is an error (they would be silently ignored otherwise).

    * ``scheduler`` steps once per epoch; ``max_grad_norm`` (> 0) clips the gradient norm.
    * ``early_stopping`` monitors ``train_loss``, ``val_loss`` or ``val_<metric>``;
      ``restore_best=True`` (needs ``early_stopping``) loads the best epoch's weights at the end.
    * ``checkpoint_path``: a checkpoint is written after every epoch and, if one exists
      when ``fit`` starts, training resumes from it.
    * ``precision``: ``"fp32"`` (default), ``"bf16"`` (bfloat16 autocast, CUDA or CPU) or
      ``"fp16"`` (float16 autocast with a gradient scaler, CUDA only).
    * ``pin_memory``: copy CPU batches from pinned memory without blocking; ``None`` means
      on when training on CUDA from CPU data.
    * ``sync_every``: read the running loss (a host synchronisation) every this many steps
      to catch a NaN/inf loss early; ``None`` reads it once per epoch.
    * ``progress=None`` shows a bar unless running quietly (CI, book builds).

    Raises ``FloatingPointError`` when the loss becomes NaN/inf on finite data (training
    diverged), ``ValueError`` when it does because the training data contain NaN/inf.
    """
    metrics = check_metrics(metrics)
    epochs, batch_size, seed, max_grad_norm, sync_every = check_fit_arguments(
        model, loss_fn, epochs, batch_size, val_data, metrics, scheduler, optimizer,
        max_grad_norm, seed, progress, restore_best, sync_every, pin_memory, checkpoint_path,
    )  # fmt: skip
    _check_early_stopping(early_stopping, val_data, metrics, restore_best)
    device = as_device(device, "device") if device is not None else model_device(model)
    precision = check_precision(precision, device)
    dataset = as_dataset(train_data, "train_data")
    check_inputs_match_model(dataset, "train_data", model)
    if val_data is not None:
        check_inputs_match_model(as_dataset(val_data, "val_data"), "val_data", model)
    model.to(device)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    if pin_memory is None:
        pin_memory = device.type == "cuda" and on_cpu(dataset)
    # pinning helps only host-to-GPU copies (and CUDA tensors cannot be pinned)
    pin_memory = pin_memory and device.type == "cuda" and on_cpu(dataset)
    non_blocking = pin_memory
    # The running loss is summed in float64 (float32 on MPS, which has no float64):
    # the epoch's mean is then the same as summing Python floats step by step.
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    history, start_epoch, best_state = History(), 0, None

    if checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        if early_stopping is not None and state.get("early_stopping") is not None:
            early_stopping.load_state_dict(state["early_stopping"])
        if scaler is not None and state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        history = History(metrics={k: list(v) for k, v in state["history"].items()})
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start_epoch = state["epoch"]
        best_state = state.get("best_model")
        if state.get("stopped") or start_epoch >= epochs:
            if restore_best and best_state is not None:
                model.load_state_dict(best_state)
            return history

    show = (not is_quiet()) if progress is None else progress
    # tqdm.auto picks a notebook widget when it can; quiet runs (CI, book builds) use the
    # plain bar, disabled, so nothing reaches stderr.
    if show:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    bar = tqdm(
        range(start_epoch, epochs),
        initial=start_epoch,
        total=epochs,
        disable=not show,
        desc="epochs",
        leave=True,
    )
    for epoch in bar:
        model.train()
        order = torch.Generator().manual_seed(seed + epoch)
        loader = DataLoader(
            dataset, batch_size=batch_size, shuffle=True, generator=order, pin_memory=pin_memory
        )
        total = torch.zeros((), dtype=acc_dtype, device=device)  # sum of loss * rows
        seen = 0
        for step, (xb, yb) in enumerate(loader, start=1):
            xb = xb.to(device, non_blocking=non_blocking)
            yb = yb.to(device, non_blocking=non_blocking)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, precision):
                loss = loss_fn(model(xb), yb)
            if not torch.is_tensor(loss) or loss.ndim != 0:
                raise ValueError(
                    f"loss_fn must return a scalar (0-d) tensor, got {describe(loss)}; "
                    "use a mean (reduction='mean')"
                )
            if scaler is not None:
                scaler.scale(loss).backward()
                if max_grad_norm is not None:
                    scaler.unscale_(optimizer)  # clip the true gradients, not scaled ones
                    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                scaler.step(optimizer)  # skips the step if the gradients overflowed
                scaler.update()
            else:
                loss.backward()
                if max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                optimizer.step()
            total += loss.detach().to(acc_dtype) * len(xb)  # stays on the device: no sync
            seen += len(xb)
            if sync_every is not None and step % sync_every == 0:
                check_running_loss(total.item(), dataset, epoch, step, sync_every)
        mean_loss = total.item() / seen  # the one read of the epoch
        check_running_loss(mean_loss, dataset, epoch, step, sync_every)
        if scheduler is not None:
            scheduler.step()
        row = {"train_loss": mean_loss}
        if val_data is not None:
            scores = evaluate(model, val_data, loss_fn, metrics, device=device,
                              precision=precision, name="val_data")  # fmt: skip
            row.update({f"val_{k}": v for k, v in scores.items()})
        history.append(**row)
        bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})

        stop = False
        if early_stopping is not None:
            if early_stopping.improved(row[early_stopping.monitor]) and restore_best:
                best_state = copy.deepcopy(model.state_dict())
            stop = early_stopping.update(row[early_stopping.monitor], epoch + 1)
        if checkpoint_path is not None:
            save_checkpoint(
                checkpoint_path,
                {
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "early_stopping": early_stopping.state_dict() if early_stopping else None,
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "history": history.metrics,
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all()
                    if torch.cuda.is_available()
                    else None,
                    "best_model": best_state,
                    "stopped": stop,
                },
            )
        if stop:
            break
    bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
