"""The training loop used across the book (Chapter 2 onward).

``fit`` trains a model on a data set for a number of epochs and returns a
:class:`History`. It shows a tqdm progress bar (silent in CI and book builds), evaluates
on validation data each epoch, can stop early, and can checkpoint every epoch and resume
after an interruption. Resuming gives exactly the weights an uninterrupted run gives,
because everything random in an epoch is reproduced:

* the shuffle order of epoch ``e`` comes from a generator seeded with ``seed + e``;
* torch's global generator (dropout, noise) is saved in the checkpoint and restored.

Checkpoints are written atomically (a temporary file, then ``os.replace``) so an
interruption mid-write never leaves a half-written file, and they are loaded with
``torch.load(weights_only=True)``, which cannot execute code hidden in a file.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from companion.runtime import is_quiet

Metric = Callable[[torch.Tensor, torch.Tensor], float]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose arg-max over classes equals the label. ``logits``: (n, C)."""
    if logits.ndim != 2 or y.shape != logits.shape[:1]:
        raise ValueError(
            f"accuracy expects logits (n, C) and labels (n,), got "
            f"{tuple(logits.shape)} and {tuple(y.shape)}"
        )
    return (logits.argmax(1) == y).float().mean().item()


@dataclass
class History:
    """Per-epoch metrics: ``metrics["train_loss"][e]`` is the value after epoch ``e + 1``."""

    metrics: dict[str, list[float]] = field(default_factory=dict)

    def append(self, **values: float) -> None:
        for name, value in values.items():
            self.metrics.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        return self.metrics[name]

    def __len__(self) -> int:
        return max((len(v) for v in self.metrics.values()), default=0)

    def last(self, name: str) -> float:
        return self.metrics[name][-1]


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 3
    min_delta: float = 0.0
    best: float | None = None
    bad_epochs: int = 0
    best_epoch: int = 0

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")

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
    path = Path(path)
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
    return torch.load(path, map_location="cpu", weights_only=True)


def _as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
        if not (torch.is_tensor(X) and torch.is_tensor(y)):
            raise TypeError("data given as (X, y) must hold two tensors")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        return TensorDataset(X, y)
    raise TypeError(f"expected a Dataset or an (X, y) pair of tensors, got {type(data).__name__}")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data,
    loss_fn,
    metrics: Mapping[str, Metric] | None = None,
    batch_size: int = 512,
    device=None,
) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``data`` (computed on all rows at once)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    outs, ys = [], []
    for xb, yb in DataLoader(_as_dataset(data), batch_size=batch_size):
        outs.append(model(xb.to(device)).float())
        ys.append(yb.to(device))
    model.train(was_training)
    out, y = torch.cat(outs), torch.cat(ys)
    result = {"loss": loss_fn(out, y).item()}
    for name, fn in (metrics or {}).items():
        result[name] = float(fn(out, y))
    return result


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
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its :class:`History`.

    ``train_data`` / ``val_data``: a ``Dataset`` or an ``(X, y)`` pair of tensors.
    History keys: ``train_loss`` and, with validation data, ``val_loss`` and ``val_<metric>``.
    With ``checkpoint_path``, a checkpoint is written after every epoch and, if one exists
    when ``fit`` starts, training resumes from it. ``progress=None`` shows a bar unless
    running quietly (CI, book builds).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if early_stopping is not None and val_data is None and early_stopping.monitor.startswith("val"):
        raise ValueError(
            f"early stopping monitors {early_stopping.monitor!r} but no val_data given"
        )
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    dataset = _as_dataset(train_data)
    history, start_epoch, best_state = History(), 0, None

    if checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        if early_stopping is not None and state.get("early_stopping") is not None:
            early_stopping.load_state_dict(state["early_stopping"])
        history = History(metrics={k: list(v) for k, v in state["history"].items()})
        torch.set_rng_state(state["torch_rng"])
        start_epoch = state["epoch"]
        best_state = state.get("best_model")
        if state.get("stopped"):
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
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=order)
        total, seen = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss.item()} in epoch {epoch + 1}; try a smaller learning rate"
                )
            loss.backward()
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            total += loss.item() * len(xb)
            seen += len(xb)
        if scheduler is not None:
            scheduler.step()
        row = {"train_loss": total / seen}
        if val_data is not None:
            scores = evaluate(model, val_data, loss_fn, metrics, device=device)
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
                    "history": history.metrics,
                    "torch_rng": torch.get_rng_state(),
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
