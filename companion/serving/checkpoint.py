"""Checkpoints a server can load safely (Chapter 13, section 13.3).

A checkpoint is a plain dictionary - ``kind``, ``config``, ``state_dict`` and, for a
language model, its ``vocab`` - written atomically and read back with
``torch.load(..., weights_only=True)``: only tensors and plain Python containers are
unpickled, so a malicious file cannot run code when the server loads it.

Two kinds of model are served:

* ``"classifier"``: :class:`Classifier`, a multilayer perceptron over ``in_features``
  inputs whose first layer standardises them with the *training* mean and standard
  deviation (kept as buffers, so the preprocessing travels with the weights).
* ``"gpt"``: the character-level :class:`companion.transformer.GPT` of Chapter 7, with
  its alphabet (a string; character ``vocab[i]`` is token ``i``).

Policy: arguments are validated with :mod:`companion.validation` (TypeError for a wrong
type, ValueError for a wrong value); nothing is converted silently.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from ..transformer import GPT, GPTConfig
from ..validation import check_positive_int, check_tensor, describe

KINDS = ("classifier", "gpt")


class Classifier(nn.Module):
    """Standardise (buffers ``mean``, ``std``), then Linear-ReLU layers: (B, F) -> logits (B, K)."""

    def __init__(self, in_features: int, hidden: list[int] | tuple[int, ...], num_classes: int):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        if not isinstance(hidden, (list, tuple)):
            raise TypeError(f"hidden must be a list of layer widths, got {describe(hidden)}")
        widths = [check_positive_int(h, "hidden") for h in hidden]
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))
        layers, n_in = [], in_features
        for width in widths:
            layers += [nn.Linear(n_in, width), nn.ReLU()]
            n_in = width
        layers.append(nn.Linear(n_in, num_classes))
        self.net = nn.Sequential(*layers)
        self.config = {"in_features": in_features, "hidden": widths, "num_classes": num_classes}

    def set_standardisation(self, X_train: torch.Tensor) -> Classifier:
        """Store the training rows' mean and std (std clamped at 1e-6 for constant pixels)."""
        check_tensor(X_train, "X_train", ndim=2, dtype="float", shape=(None, self.in_features))
        with torch.no_grad():
            self.mean.copy_(X_train.mean(0))
            self.std.copy_(X_train.std(0).clamp_min(1e-6))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


def _check_path(path, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {describe(path)}")
    return Path(path)


def save_checkpoint(model: nn.Module, path: str | os.PathLike, *, vocab: str | None = None) -> Path:
    """Write ``model`` (a :class:`Classifier`, or a GPT with its ``vocab``) atomically."""
    path = _check_path(path)
    if isinstance(model, Classifier):
        if vocab is not None:
            raise ValueError("vocab is only for a GPT checkpoint; a Classifier has none")
        payload = {"kind": "classifier", "config": dict(model.config)}
    elif isinstance(model, GPT):
        if not isinstance(vocab, str):
            raise TypeError(f"vocab must be the GPT's alphabet as a str, got {describe(vocab)}")
        if len(vocab) != model.cfg.vocab_size or len(set(vocab)) != len(vocab):
            raise ValueError(
                f"vocab must hold vocab_size={model.cfg.vocab_size} distinct characters, "
                f"got {len(vocab)} ({len(set(vocab))} distinct)"
            )
        payload = {"kind": "gpt", "config": asdict(model.cfg), "vocab": vocab}
    else:
        raise TypeError(
            f"model must be a serving.Classifier or a transformer.GPT, got {describe(model)}"
        )
    payload["state_dict"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Read a checkpoint with ``weights_only=True``; return ``(model in eval mode, payload)``."""
    path = _check_path(path)
    if not path.is_file():
        raise ValueError(f"path must name an existing checkpoint file, got {str(path)!r}")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("kind") not in KINDS:
        raise ValueError(f"path {str(path)!r} is not a serving checkpoint (no kind in {KINDS})")
    if payload["kind"] == "classifier":
        model = Classifier(**payload["config"])
    else:
        model = GPT(GPTConfig(**payload["config"]))
    model.load_state_dict(payload["state_dict"])
    return model.eval(), payload
