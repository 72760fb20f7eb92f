"""Training-memory accounting: parameters, gradients, optimiser states, activations (§9.1).

Training a model with ``N`` parameters holds, besides the data, four kinds of tensors
(eq. ch09-memory):

* the **parameters**, ``N · b_p`` bytes (``b_p`` = 4 for float32, 2 for bf16/fp16);
* the **gradients**, one per parameter, ``N · b_g`` bytes;
* the **optimiser states**: none for plain SGD, one buffer for SGD with momentum, two
  (first and second moments) for Adam/AdamW, ``k · N · b_s`` bytes; mixed-precision
  training also keeps a float32 **master copy** of the weights (``4N`` bytes);
* the **activations** that autograd saves for the backward pass; they grow with the batch
  size and the depth, not with ``N``.

Mixed-precision Adam therefore needs ``(2 + 2 + 4 + 4 + 4) N = 16 N`` bytes before any
activation (Rajbhandari et al. 2020, "ZeRO", §3.1): 112 GB for a 7-billion-parameter model.

:func:`measure_state_bytes` measures the same quantities on a real model and optimiser
(``Tensor.nbytes`` of every parameter, gradient and state buffer), and
:func:`saved_activation_bytes` measures the bytes autograd actually saves for the backward
pass (through ``torch.autograd.graph.saved_tensors_hooks``), so that the accounting is checked
against measurement (``tests/test_memory.py``).

Validation follows :mod:`companion.validation`: wrong types raise ``TypeError``, wrong values
``ValueError``, and the message names the argument; nothing is converted silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from companion.validation import (
    check_bool,
    check_choice,
    check_nonnegative,
    check_positive_int,
    describe,
)

__all__ = [
    "OPTIMIZER_STATES",
    "TrainingMemory",
    "bytes_per_element",
    "measure_state_bytes",
    "mlp_activation_elements",
    "saved_activation_bytes",
    "training_memory",
    "model_training_memory",
]

#: Number of per-parameter state buffers each optimiser keeps (the step counter aside).
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}

_DTYPE_NAMES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float64": torch.float64,
    "int8": torch.int8,
}


def bytes_per_element(dtype: torch.dtype | str, name: str = "dtype") -> int:
    """Bytes of one element of ``dtype`` (a ``torch.dtype`` or a name such as ``"bf16"``)."""
    if isinstance(dtype, str):
        dtype = _DTYPE_NAMES[check_choice(dtype, name, tuple(_DTYPE_NAMES))]
    elif not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype or a name such as 'bf16', got {dtype!r}")
    return torch.empty((), dtype=dtype).element_size()


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes held during training, by kind (eq. ch09-memory)."""

    parameters: int
    gradients: int
    optimizer_states: int
    master_weights: int
    activations: int

    @property
    def states(self) -> int:
        """Everything but the activations: what must stay resident from step to step."""
        return self.parameters + self.gradients + self.optimizer_states + self.master_weights

    @property
    def total(self) -> int:
        return self.states + self.activations

    def as_gb(self) -> dict[str, float]:
        """The same numbers in gigabytes (10⁹ bytes, as GPU memory is quoted)."""
        names = ("parameters", "gradients", "optimizer_states", "master_weights", "activations")
        out = {k: getattr(self, k) / 1e9 for k in names}
        out["total"] = self.total / 1e9
        return out


def training_memory(
    n_params: int,
    optimizer: str = "adam",
    *,
    mixed_precision: bool = False,
    param_dtype: torch.dtype | str = torch.float32,
    state_dtype: torch.dtype | str = torch.float32,
    activation_bytes: float = 0,
) -> TrainingMemory:
    """Bytes needed to train ``n_params`` parameters with ``optimizer`` (eq. ch09-memory).

    * ``optimizer``: ``"sgd"`` (no state), ``"momentum"`` (one buffer), ``"adam"``/``"adamw"``
      (two buffers), each buffer in ``state_dtype``.
    * ``mixed_precision=True``: parameters and gradients in 16 bits (``param_dtype`` must then be
      bf16 or fp16; it defaults to bf16), plus a float32 master copy of the weights: the
      16·N bytes of mixed-precision Adam.
    * ``activation_bytes``: added as given (use :func:`saved_activation_bytes` or
      :func:`mlp_activation_elements` to obtain it).
    """
    n = check_positive_int(n_params, "n_params")
    optimizer = check_choice(optimizer, "optimizer", tuple(OPTIMIZER_STATES))
    mixed = check_bool(mixed_precision, "mixed_precision")
    act = check_nonnegative(activation_bytes, "activation_bytes")
    p_bytes = bytes_per_element(param_dtype, "param_dtype")
    s_bytes = bytes_per_element(state_dtype, "state_dtype")
    if mixed:
        if p_bytes == 4:  # the default float32: mixed precision means 16-bit working weights
            p_bytes = 2
        elif p_bytes != 2:
            raise ValueError(
                f"param_dtype must be a 16-bit type (bf16 or fp16) when mixed_precision=True, "
                f"got {param_dtype}"
            )
    return TrainingMemory(
        parameters=n * p_bytes,
        gradients=n * p_bytes,
        optimizer_states=OPTIMIZER_STATES[optimizer] * n * s_bytes,
        master_weights=4 * n if mixed else 0,
        activations=int(act),
    )


def _check_module(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    return model


def model_training_memory(model: nn.Module, optimizer: str = "adam", **kwargs) -> TrainingMemory:
    """:func:`training_memory` for the trainable parameters of ``model`` in their own dtype.

    The model's parameters must all share one dtype (mixed dtypes are refused: say which
    dtype you mean by calling :func:`training_memory` directly).
    """
    params = [p for p in _check_module(model).parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters to account for")
    dtypes = {p.dtype for p in params}
    if len(dtypes) != 1:
        raise ValueError(f"model's parameters have several dtypes {sorted(map(str, dtypes))}")
    kwargs.setdefault("param_dtype", params[0].dtype)
    kwargs.setdefault("state_dtype", params[0].dtype)
    return training_memory(sum(p.numel() for p in params), optimizer, **kwargs)


def measure_state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """Measured bytes of the parameters, gradients and optimiser state of a model in training.

    Call it after at least one ``optimizer.step()`` (states are created lazily). Optimiser
    state tensors with as many elements as their parameter count as ``"optimizer_states"``;
    the scalar step counters that Adam keeps per parameter tensor count as ``"step_counters"``
    (a few bytes, left out of eq. ch09-memory).
    """
    _check_module(model)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {describe(optimizer)}")
    params = list(model.parameters())
    out = {
        "parameters": sum(p.nbytes for p in params),
        "gradients": sum(p.grad.nbytes for p in params if p.grad is not None),
        "optimizer_states": 0,
        "step_counters": 0,
    }
    for p in params:
        for value in optimizer.state.get(p, {}).values():
            if not torch.is_tensor(value):
                continue
            key = "optimizer_states" if value.numel() == p.numel() else "step_counters"
            out[key] += value.nbytes
    return out


def saved_activation_bytes(
    forward: Callable[[], torch.Tensor], model: nn.Module | None = None
) -> int:
    """Bytes of the tensors autograd saves for backward while ``forward()`` runs, measured.

    Every tensor that an operation saves passes through a
    ``torch.autograd.graph.saved_tensors_hooks`` pack hook; we add up the sizes of the distinct
    storages, leaving out the parameters of ``model`` (they are stored anyway). Views of one
    storage count once, as they do in memory. With activation checkpointing only the segment
    inputs are saved, so the measurement shows the saving (Chapter 9, §9.3). A saved view
    counts its whole storage, because it keeps all of it alive: pass ``x[:128].clone()``, not a
    slice of a large data set, when you want the batch's own size.
    """
    if not callable(forward):
        raise TypeError(f"forward must be a function of no arguments, got {describe(forward)}")
    skip = set()
    if model is not None:
        skip = {p.untyped_storage().data_ptr() for p in _check_module(model).parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(seen.values())


def mlp_activation_elements(batch: int, sizes: list[int] | tuple[int, ...]) -> int:
    """Elements autograd saves for a ``Linear``–``ReLU`` stack ``sizes[0] → … → sizes[-1]``.

    Each ``Linear`` saves its input, each ``ReLU`` its output, which is the next ``Linear``'s
    input (one tensor, counted once): ``batch · (sizes[0] + … + sizes[-2])``. The last layer
    has no ReLU, and its output is not saved by the stack itself.
    """
    b = check_positive_int(batch, "batch")
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(
            f"sizes must be a list of at least two layer widths, got {describe(sizes)}"
        )
    widths = [check_positive_int(s, "sizes") for s in sizes]
    return b * sum(widths[:-1])
