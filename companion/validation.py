"""Input validation for the companion's public functions: one clear error for each mistake.

Every public function and constructor of the companion checks its arguments with these
helpers instead of writing the checks out again. Each error

* is a :class:`TypeError` when the *kind* of thing is wrong (a list where a tensor is
  needed, an integer tensor where floats are needed, a string where a number is needed),
  and a :class:`ValueError` when the kind is right but the *value* is not (a shape, a
  range, NaN, an unknown option);
* names the argument, says what was expected and shows what was given.

Conventions, the same in every module:

* **Tensors are not converted silently.** A NumPy array or a list where a tensor is
  expected is refused with a ``TypeError`` that says how to convert it
  (``torch.as_tensor(x)``), unless the function's docstring says it converts.
* **Dtypes are checked, not cast.** Floating-point inputs of another float dtype than the
  model's are refused with a ``TypeError`` naming both dtypes (call ``x.float()``);
  integer data where floats are needed are refused, because casting token ids or labels
  to floats is almost always a mistake.
* **Numbers are finite.** A hyper-parameter that must be positive is checked with
  ``check_positive`` (NaN and infinity fail), never with ``x <= 0`` (which NaN passes).
* **Counts are integers.** ``bool`` is not a count; NumPy integers and integral values
  of 0-d tensors are accepted as counts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import torch

__all__ = [
    "check_tensor",
    "check_shape",
    "check_dtype",
    "check_floating",
    "check_index_tensor",
    "check_finite",
    "check_int",
    "check_positive_int",
    "check_real",
    "check_positive",
    "check_nonnegative",
    "check_fraction",
    "check_choice",
    "check_bool",
    "check_same_device",
    "check_labels",
    "check_parameters",
    "check_array_1d",
    "describe",
]


def describe(value: Any) -> str:
    """A short description of ``value`` for an error message: its type, and shape/dtype."""
    if torch.is_tensor(value):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return f"a {type(value).__module__}.{type(value).__name__} of shape {tuple(shape)}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


# --- tensors -------------------------------------------------------------------------------


def check_tensor(
    value: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    dtype: str | torch.dtype | Sequence[torch.dtype] | None = None,
    shape: Sequence[int | str | None] | None = None,
    sizes: dict[str, int] | None = None,
) -> torch.Tensor:
    """Return ``value`` if it is a tensor with the given rank, dtype kind and shape.

    ``dtype`` is a torch dtype, a tuple of them, or a kind: ``"float"`` (any floating
    dtype), ``"int"`` (any integer dtype, not bool), ``"bool"``, ``"index"`` (int64 or
    int32). ``shape`` is a sequence whose entries are ints (that size), ``None`` (any
    size) or letters such as ``"B"`` that must take the same size wherever they appear;
    pass a dict as ``sizes`` to share letters across several tensors.
    """
    if not torch.is_tensor(value):
        hint = ""
        if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
            hint = "; convert it with torch.as_tensor(...) first"
        raise TypeError(f"{name} must be a torch.Tensor, got {describe(value)}{hint}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimensions, got shape {tuple(value.shape)}"
                + (f" (expected {_shape_text(shape)})" if shape is not None else "")
            )
    if dtype is not None:
        check_dtype(value, name, dtype)
    if shape is not None:
        check_shape(value, name, shape, sizes)
    return value


def _shape_text(spec: Sequence[int | str | None]) -> str:
    parts = ["*" if s is None else str(s) for s in spec]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_shape(
    t: torch.Tensor,
    name: str,
    spec: Sequence[int | str | None],
    sizes: dict[str, int] | None = None,
) -> dict[str, int]:
    """Check ``t.shape`` against ``spec`` (see :func:`check_tensor`); return the letter sizes.

    >>> sizes = {}
    >>> check_shape(torch.zeros(2, 3), "x", ("B", "D"), sizes)
    {'B': 2, 'D': 3}
    """
    sizes = {} if sizes is None else sizes
    got = tuple(t.shape)
    if len(got) != len(spec):
        raise ValueError(f"{name} must have shape {_shape_text(spec)}, got {got}")
    for axis, (want, have) in enumerate(zip(spec, got, strict=True)):
        if want is None:
            continue
        if isinstance(want, str):
            bound = sizes.setdefault(want, have)
            if bound != have:
                raise ValueError(
                    f"{name} must have shape {_shape_text(spec)} with {want}={bound} "
                    f"(set by an earlier argument), got {got} (axis {axis} is {have})"
                )
        elif want != have:
            raise ValueError(f"{name} must have shape {_shape_text(spec)}, got {got}")
    return sizes


_KINDS = {
    "float": (lambda d: d.is_floating_point, "a floating-point dtype"),
    "int": (lambda d: not d.is_floating_point and not d.is_complex and d != torch.bool,
            "an integer dtype"),
    "index": (lambda d: d in (torch.int64, torch.int32), "int64 (torch.long) or int32"),
    "bool": (lambda d: d == torch.bool, "torch.bool"),
}  # fmt: skip


def check_dtype(
    t: torch.Tensor, name: str, dtype: str | torch.dtype | Sequence[torch.dtype]
) -> torch.Tensor:
    """Raise ``TypeError`` unless ``t.dtype`` matches ``dtype`` (a dtype, tuple or kind)."""
    if isinstance(dtype, str):
        if dtype not in _KINDS:
            raise ValueError(f"unknown dtype kind {dtype!r}; expected one of {sorted(_KINDS)}")
        ok, want = _KINDS[dtype]
        if not ok(t.dtype):
            hint = ""
            if dtype == "float" and not t.dtype.is_floating_point:
                hint = " (convert with .float() if these really are measurements)"
            elif dtype in ("int", "index") and t.dtype.is_floating_point:
                hint = " (labels and token ids are integers: use .long())"
            raise TypeError(f"{name} must have {want}, got {t.dtype}{hint}")
        return t
    allowed = (dtype,) if isinstance(dtype, torch.dtype) else tuple(dtype)
    if t.dtype not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise TypeError(f"{name} must have dtype {want}, got {t.dtype}")
    return t


def check_floating(
    value: Any,
    name: str,
    *,
    like: torch.Tensor | None = None,
    shape: Sequence[int | str | None] | None = None,
    sizes: dict[str, int] | None = None,
) -> torch.Tensor:
    """A floating-point tensor; with ``like`` (a model parameter), of exactly its dtype.

    Models hold float32 weights; float64 data fail deep inside torch with "mat1 and mat2
    must have the same dtype". This names the argument and the fix instead.
    """
    t = check_tensor(value, name, dtype="float", shape=shape, sizes=sizes)
    if like is not None and t.dtype != like.dtype:
        raise TypeError(
            f"{name} has dtype {t.dtype} but the model's weights are {like.dtype}; "
            f"convert the input with .to({like.dtype}) (or the model with .to({t.dtype}))"
        )
    return t


def check_index_tensor(
    value: Any,
    name: str,
    high: int | None = None,
    *,
    shape: Sequence[int | str | None] | None = None,
    sizes: dict[str, int] | None = None,
    check_range: bool = True,
) -> torch.Tensor:
    """An integer tensor of indices (class labels, token ids) in ``[0, high)``.

    ``check_range=False`` skips the range test, which reads the values (a host sync on a
    GPU); hot loops check once, outside the loop.
    """
    t = check_tensor(value, name, dtype="int", shape=shape, sizes=sizes)
    if check_range and high is not None and t.numel() > 0:
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= high:
            raise ValueError(f"{name} must lie in [0, {high - 1}], got values in [{lo}, {hi}]")
    return t


def check_finite(t: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if a floating tensor holds NaN or infinity (a host sync)."""
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return t


def check_same_device(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise ``ValueError`` if two tensors live on different devices."""
    if a.device != b.device:
        raise ValueError(
            f"{name_a} is on {a.device} but {name_b} is on {b.device}; move both to one device"
        )


def check_labels(y: Any, name: str, num_classes: int, *, n: int | None = None) -> torch.Tensor:
    """Class labels: a 1-D integer tensor with values in ``[0, num_classes)``."""
    shape = (n,) if n is not None else (None,)
    return check_index_tensor(y, name, num_classes, shape=shape)


def check_parameters(value: Any, name: str = "parameters") -> list[torch.Tensor]:
    """A single tensor or an iterable of tensors (as ``torch.nn.utils.clip_grad_norm_``
    accepts), returned as a non-empty list. A generator is consumed once."""
    if torch.is_tensor(value):
        return [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a tensor or an iterable of tensors, got {describe(value)}")
    params = list(value)
    for i, p in enumerate(params):
        if not torch.is_tensor(p):
            raise TypeError(f"{name}[{i}] must be a tensor, got {describe(p)}")
    if not params:
        raise ValueError(f"{name} is empty (a generator already consumed, or a model without "
                         "parameters?)")  # fmt: skip
    return params


# --- plain numbers ---------------------------------------------------------------------------


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if torch.is_tensor(value) and value.numel() == 1 and not value.is_floating_point():
        return int(value.item())
    raise TypeError(f"{name} must be an int, got {describe(value)}")


def check_int(value: Any, name: str, *, min: int | None = None, max: int | None = None) -> int:
    """An integer (``int`` or NumPy integer, not ``bool``) in ``[min, max]``; returned as int."""
    v = _as_int(value, name)
    if min is not None and v < min:
        raise ValueError(f"{name} must be >= {min}, got {v}")
    if max is not None and v > max:
        raise ValueError(f"{name} must be <= {max}, got {v}")
    return v


def check_positive_int(value: Any, name: str) -> int:
    """An integer >= 1 (sizes, counts of layers, steps, epochs)."""
    return check_int(value, name, min=1)


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (int, float, NumPy scalar or 0-d tensor) in the given interval.

    ``low_open``/``high_open`` exclude the end points. NaN and infinity are refused.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got bool {value!r}")
    if torch.is_tensor(value):
        if value.numel() != 1 or value.is_complex():
            raise TypeError(f"{name} must be a real number, got {describe(value)}")
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {v}")
    return v


def check_positive(value: Any, name: str) -> float:
    """A finite number > 0 (learning rates, temperatures, step sizes)."""
    return check_real(value, name, low=0.0, low_open=True)


def check_nonnegative(value: Any, name: str) -> float:
    """A finite number >= 0 (penalties, weight decay, dropout-free defaults)."""
    return check_real(value, name, low=0.0)


def check_fraction(value: Any, name: str, *, include_one: bool = False) -> float:
    """A number in ``[0, 1)`` (momentum, betas, dropout), or ``[0, 1]`` with ``include_one``."""
    return check_real(value, name, low=0.0, high=1.0, high_open=not include_one)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of option strings."""
    options = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {options}, got {describe(value)}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """A real ``bool`` (not a truthy string such as ``"False"``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return value


def check_array_1d(value: Any, name: str, *, numeric: bool = False):
    """A non-empty 1-D NumPy array from a tensor, an array or a list (this helper converts).

    For the evaluation and use-case modules, whose inputs are columns of a table; strings and
    scalars are refused. ``numeric=True`` also refuses non-numeric dtypes (a group column of
    names may hold strings; a score may not).
    """
    import numpy as np

    if isinstance(value, (str, bytes)) or np.isscalar(value):
        raise TypeError(f"{name} must be a 1-D array, got {describe(value)}")
    a = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n,), got shape {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{name} is empty")
    if numeric and a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    return a
