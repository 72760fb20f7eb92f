"""Exporting a trained model: ``torch.export`` and ONNX (Chapter 13, section 13.1).

Training code is Python; a server often wants a *graph*: the sequence of tensor operations
with the weights, free of the Python that produced it, so that another runtime (ONNX Runtime,
TensorRT, a phone) can execute it. Two routes:

* :func:`export_program` - ``torch.export.export``: traces ``forward`` once with example
  inputs into an ``ExportedProgram`` (ATen operations, weights, input shape constraints).
  The batch dimension is declared *dynamic*, so any batch size is accepted afterwards.
* :func:`export_onnx` - the same graph written as an ONNX file (``torch.onnx.export`` with
  ``dynamo=True`` calls ``torch.export`` internally), run by :func:`onnx_predict` through
  ONNX Runtime. :func:`max_abs_difference` measures how far its outputs are from PyTorch's.

What export cannot capture (section 13.1): Python control flow that depends on the *values*
of tensors (``if x.sum() > 0``) - the tracer sees a tensor, not a bool, and refuses
(:func:`try_export` returns the refusal); shapes it was told are fixed; side effects
(printing, mutating Python objects, reading the clock); and anything outside ``forward``
(preprocessing, tokenisation, the argmax that turns logits into a label).

Policy (as every public boundary of the companion): arguments are validated with
:mod:`companion.validation`; tensors are not converted silently (a NumPy array or a list
gets a ``TypeError``), float64 inputs for a float32 model are refused, not cast.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .validation import check_bool, check_floating, check_int, check_tensor, describe

__all__ = [
    "DataDependentBranch",
    "export_onnx",
    "export_program",
    "max_abs_difference",
    "onnx_predict",
    "onnx_session",
    "try_export",
]

INPUT_NAME = "x"
OUTPUT_NAME = "logits"


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    return model


def _check_example(model: nn.Module, example) -> torch.Tensor:
    check_tensor(example, "example", dtype="float")
    if example.ndim < 2 or example.shape[0] < 2:
        # torch.export specialises a dimension of size 0 or 1 to a constant: the exported
        # graph would then refuse every other batch size.
        raise ValueError(
            "example must have a batch dimension of size >= 2 (a batch of 1 is specialised "
            f"to a constant by torch.export), got shape {tuple(example.shape)}"
        )
    first = next(model.parameters(), None)
    if first is not None:
        check_floating(example, "example", like=first)
    return example


def _dynamic_batch(dynamic_batch: bool, max_batch: int):
    if not dynamic_batch:
        return None
    return {INPUT_NAME: {0: torch.export.Dim("batch", min=1, max=max_batch)}}


class _Named(nn.Module):
    """Wrap ``model`` so that its one input is called ``x`` (the name dynamic shapes refer to)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def export_program(
    model: nn.Module, example: torch.Tensor, *, dynamic_batch: bool = True, max_batch: int = 4096
) -> torch.export.ExportedProgram:
    """Export ``model`` (in eval mode) with ``torch.export``; the batch size is dynamic by default.

    ``example``: (B, ...) float tensor with B >= 2. ``program.module()(x)`` runs the graph.
    """
    model = _check_model(model)
    example = _check_example(model, example)
    check_bool(dynamic_batch, "dynamic_batch")
    max_batch = check_int(max_batch, "max_batch", min=2)
    model.eval()
    return torch.export.export(
        _Named(model), (example,), dynamic_shapes=_dynamic_batch(dynamic_batch, max_batch)
    )


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the ONNX exporter's progress lines and its notes about missing torchvision."""
    names = ("torch.onnx", "torch.fx.experimental.symbolic_shapes", "torch._export")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: str | os.PathLike,
    *,
    dynamic_batch: bool = True,
    max_batch: int = 4096,
) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (input ``x``, output ``logits``); return it.

    Uses the ``torch.export``-based exporter (``dynamo=True``) and checks the file with
    ``onnx.checker``. The batch dimension is dynamic unless ``dynamic_batch=False``.
    """
    import onnx

    model = _check_model(model)
    example = _check_example(model, example)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"path must end in .onnx, got {str(path)!r}")
    check_bool(dynamic_batch, "dynamic_batch")
    max_batch = check_int(max_batch, "max_batch", min=2)
    model.eval()
    with _quiet_exporter():
        torch.onnx.export(
            _Named(model),
            (example,),
            str(path),
            dynamo=True,
            dynamic_shapes=_dynamic_batch(dynamic_batch, max_batch),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            verbose=False,
        )
    onnx.checker.check_model(onnx.load(str(path)))
    return path


def onnx_session(path: str | os.PathLike):
    """An ONNX Runtime ``InferenceSession`` on the CPU for the file at ``path``."""
    import onnxruntime as ort

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
    if not Path(path).is_file():
        raise ValueError(f"path must name an existing ONNX file, got {str(path)!r}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # like the book's timings: one thread, no contention
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predict(session, x: torch.Tensor) -> torch.Tensor:
    """Run ``session`` on the float32 batch ``x`` (B, ...) and return its output as a tensor."""
    if not hasattr(session, "run") or not hasattr(session, "get_inputs"):
        raise TypeError(f"session must be an onnxruntime.InferenceSession, got {describe(session)}")
    check_tensor(x, "x", dtype=torch.float32)
    expected = session.get_inputs()[0].shape
    if len(expected) != x.ndim:
        raise ValueError(
            f"x must have {len(expected)} dimensions {expected}, got shape {tuple(x.shape)}"
        )
    for axis, (want, got) in enumerate(zip(expected, x.shape, strict=True)):
        if isinstance(want, int) and want != got:
            raise ValueError(
                f"x must have size {want} in dimension {axis}, got shape {tuple(x.shape)}"
            )
    feed = {session.get_inputs()[0].name: np.ascontiguousarray(x.detach().cpu().numpy())}
    return torch.from_numpy(session.run(None, feed)[0])


def max_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference between two tensors of the same shape (compared in float64)."""
    check_tensor(a, "a", dtype="float")
    check_tensor(b, "b", dtype="float")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return float((a.double() - b.double()).abs().max())


class DataDependentBranch(nn.Module):
    """A model whose ``forward`` branches on a tensor's *value*: ``torch.export`` refuses it."""

    def __init__(self, features: int = 4):
        super().__init__()
        self.linear = nn.Linear(features, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x)
        if h.sum() > 0:  # a Python bool from a tensor: the graph would need both branches
            return h.relu()
        return -h


def try_export(model: nn.Module, example: torch.Tensor) -> tuple[bool, str]:
    """Try :func:`export_program`: ``(True, "")``, or ``(False, first line of the refusal)``."""
    model = _check_model(model)
    example = _check_example(model, example)
    try:
        with _quiet_exporter(), contextlib.redirect_stderr(io.StringIO()):
            export_program(model, example)
    except Exception as err:  # noqa: BLE001 - the refusal is the result we report
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return False, f"{type(err).__name__}: {first}"
    return True, ""
