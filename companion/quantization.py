"""Affine integer quantisation from scratch, and post-training dynamic int8 (Section 10.2).

A real number ``x`` is stored as an integer ``q`` with a scale ``s`` and a zero point ``z``
(eq. ch10-affine)::

    q = clamp(round(x / s) + z, qmin, qmax),      x_hat = s * (q - z)

* :func:`affine_qparams` chooses ``s`` and ``z`` from a range ``[x_min, x_max]`` as PyTorch's
  ``MinMaxObserver`` does (the range always contains 0, so 0 is represented exactly).
* :func:`quantize` / :func:`dequantize` apply the formula per tensor (one ``s, z``) or per
  channel (one pair for each slice along ``axis``); rounding is half-to-even, as in PyTorch.
  They give the same integers as ``torch.quantize_per_channel(...).int_repr()`` and, except
  at rare float32 rounding ties (see :func:`quantize`), ``torch.quantize_per_tensor``.
* :func:`fake_quantize` is ``dequantize(quantize(x))``: the error a format causes, for any bit
  width (int8, int4 with ``bits=4``).
* :class:`Int8Linear` and :func:`quantize_linears` are a from-scratch weight-only int8 model:
  int8 weights per output channel, dequantised on the fly.
* :func:`torch_dynamic_int8` wraps PyTorch's ``quantize_dynamic`` (deprecated in torch 2.13
  in favour of the separate ``torchao`` package; the wrapper says so if it disappears).
* :func:`state_dict_bytes` is the size a model's ``torch.save`` file takes.

Validation policy (see :mod:`companion.validation`): tensors are not converted silently,
integers are not used as floats (quantising int data is refused), scales must be finite and
positive, and bit widths are integers from 2 to 16.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from companion.validation import (
    check_bool,
    check_finite,
    check_int,
    check_tensor,
    describe,
)

__all__ = [
    "int_range",
    "affine_qparams",
    "quantize",
    "dequantize",
    "fake_quantize",
    "Int8Linear",
    "quantize_linears",
    "torch_dynamic_int8",
    "state_dict_bytes",
]

EPS = torch.finfo(torch.float32).eps  # PyTorch's observers keep scales above this


def int_range(bits: int = 8, signed: bool = True) -> tuple[int, int]:
    """``(qmin, qmax)`` of a ``bits``-bit integer: (-128, 127) for signed int8, (0, 255)
    unsigned, (-8, 7) for signed int4."""
    bits = check_int(bits, "bits", min=2, max=16)
    signed = check_bool(signed, "signed")
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def _check_x(x, name: str = "x") -> torch.Tensor:
    t = check_tensor(x, name, dtype="float")
    return check_finite(t, name)


def affine_qparams(
    x_min, x_max, bits: int = 8, signed: bool = True, symmetric: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale ``s`` (float32) and zero point ``z`` (int64) for values in ``[x_min, x_max]``.

    ``x_min``/``x_max`` are float tensors (0-d for one tensor, 1-d for per-channel ranges).
    Asymmetric (affine): the range is widened to contain 0, ``s = (max - min) / (qmax - qmin)``,
    ``z = qmin - round(min / s)``. Symmetric: ``s = max(|min|, max) / ((qmax - qmin) / 2)`` and
    ``z = 0`` (signed) or the middle of the range (unsigned). Same as ``MinMaxObserver``.
    """
    lo = _check_x(x_min, "x_min")
    hi = _check_x(x_max, "x_max")
    if lo.shape != hi.shape:
        raise ValueError(f"x_min and x_max must have the same shape, got {tuple(lo.shape)} "
                         f"and {tuple(hi.shape)}")  # fmt: skip
    if bool((lo > hi).any()):
        raise ValueError("x_min must not exceed x_max")
    symmetric = check_bool(symmetric, "symmetric")
    qmin, qmax = int_range(bits, signed)
    lo = torch.minimum(lo.float(), torch.zeros_like(lo, dtype=torch.float32))
    hi = torch.maximum(hi.float(), torch.zeros_like(hi, dtype=torch.float32))
    if symmetric:
        scale = (torch.maximum(-lo, hi) / ((qmax - qmin) / 2)).clamp_min(EPS)
        zp = torch.zeros_like(scale, dtype=torch.int64) + (0 if signed else (qmin + qmax + 1) // 2)
    else:
        scale = ((hi - lo) / float(qmax - qmin)).clamp_min(EPS)
        zp = (qmin - torch.round(lo / scale)).to(torch.int64).clamp(qmin, qmax)
    return scale, zp


def _broadcast(x: torch.Tensor, v: torch.Tensor, axis: int | None, name: str) -> torch.Tensor:
    if axis is None:
        if v.numel() != 1:
            raise ValueError(f"{name} must hold one value for per-tensor quantisation (axis="
                             f"None), got shape {tuple(v.shape)}")  # fmt: skip
        return v.reshape(())
    if v.ndim != 1 or v.numel() != x.shape[axis]:
        raise ValueError(f"{name} must be 1-D with one value per slice along axis {axis} "
                         f"({x.shape[axis]}), got shape {tuple(v.shape)}")  # fmt: skip
    shape = [1] * x.ndim
    shape[axis] = -1
    return v.reshape(shape)


def _check_axis(x: torch.Tensor, axis) -> int | None:
    if axis is None:
        return None
    return check_int(axis, "axis", min=-x.ndim, max=x.ndim - 1) % x.ndim


def _check_scale_zp(scale, zero_point, x, axis, bits, signed):
    qmin, qmax = int_range(bits, signed)
    s = check_tensor(scale, "scale", dtype="float")
    z = check_tensor(zero_point, "zero_point", dtype="int")
    if not bool(torch.isfinite(s).all()) or bool((s <= 0).any()):
        raise ValueError("scale must be finite and > 0")
    if bool((z < qmin).any()) or bool((z > qmax).any()):
        raise ValueError(f"zero_point must lie in [{qmin}, {qmax}]")
    return _broadcast(x, s, axis, "scale"), _broadcast(x, z, axis, "zero_point"), qmin, qmax


def quantize(
    x: torch.Tensor, scale, zero_point, axis: int | None = None, bits: int = 8, signed=True
) -> torch.Tensor:
    """Integers ``clamp(round(x / s) + z, qmin, qmax)`` (int64 tensor, shape of ``x``).

    ``scale`` (float tensor) and ``zero_point`` (int tensor) hold one value (``axis=None``) or
    one per slice along ``axis``. ``round`` is half-to-even, as in PyTorch's kernels.
    Since ``z`` is an integer, ``round(x / s) + z = round(x * (1/s) + z)`` in exact arithmetic;
    in float32 the two differ at rare exact ties, and the second is the order that
    ``torch.quantize_per_channel`` uses (``quantize_per_tensor`` fuses the multiply-add, so
    about one weight in a million on a tie may land one level apart).
    """
    x = _check_x(x)
    axis = _check_axis(x, axis)
    s, z, qmin, qmax = _check_scale_zp(scale, zero_point, x, axis, bits, signed)
    inv = (1.0 / s).to(x.dtype)  # PyTorch's kernels multiply by 1/s and round after adding z
    return torch.round(x * inv + z.to(x.dtype)).clamp(qmin, qmax).to(torch.int64)


def dequantize(q: torch.Tensor, scale, zero_point, axis: int | None = None) -> torch.Tensor:
    """The real values ``s * (q - z)`` (float32) that integers ``q`` stand for."""
    q = check_tensor(q, "q", dtype="int")
    axis = _check_axis(q, axis)
    s = check_tensor(scale, "scale", dtype="float")
    z = check_tensor(zero_point, "zero_point", dtype="int")
    s, z = _broadcast(q, s, axis, "scale"), _broadcast(q, z, axis, "zero_point")
    return (s.float() * (q - z).float()).float()


def fake_quantize(
    x: torch.Tensor, bits: int = 8, axis: int | None = None, symmetric: bool = False
) -> torch.Tensor:
    """``dequantize(quantize(x))`` with min/max qparams (per tensor, or per slice along
    ``axis``): what a ``bits``-bit signed format keeps of ``x``."""
    x = _check_x(x)
    axis = _check_axis(x, axis)
    if axis is None:
        lo, hi = x.detach().min(), x.detach().max()
    else:
        flat = x.detach().movedim(axis, 0).flatten(1)
        lo, hi = flat.min(1).values, flat.max(1).values
    scale, zp = affine_qparams(lo, hi, bits=bits, symmetric=symmetric)
    q = quantize(x, scale, zp, axis=axis, bits=bits)
    return dequantize(q, scale, zp, axis=axis).to(x.dtype)


class Int8Linear(nn.Module):
    """A linear layer with int8 weights, one symmetric scale per output row (eq. ch10-affine
    with ``z = 0`` and ``s = max|w_row| / 127``), dequantised at each call; activations stay
    float (weight-only int8).

    x: (..., in_features) float32 -> (..., out_features). Stores 1 byte per weight + 4 per row.
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {describe(linear)}")
        w = linear.weight.detach().float()
        # absmax scaling: the largest |w| of a row maps to +-127, so every row uses the
        # symmetric range [-127, 127] and no weight sits on a rounding tie at the boundary
        scale = (w.abs().amax(dim=1) / 127).clamp_min(EPS)  # (out,)
        q = quantize(w, scale, torch.zeros_like(scale, dtype=torch.int64), axis=0)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("q_weight", q.to(torch.int8))
        self.register_buffer("scale", scale)
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        self.register_buffer("bias", bias)

    def weight(self) -> torch.Tensor:
        """The dequantised float32 weight (out_features, in_features)."""
        return self.q_weight.float() * self.scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor(x, "x", dtype=torch.float32)
        return nn.functional.linear(x, self.weight(), self.bias)


def quantize_linears(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` replaced by an :class:`Int8Linear`."""
    import copy

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    out = copy.deepcopy(model)
    targets = [(n, m) for n, m in out.named_modules() if isinstance(m, nn.Linear)]
    if not targets:
        raise ValueError("model has no nn.Linear layer to quantise")
    for name, lin in targets:
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, Int8Linear(lin))
    return out


def torch_dynamic_int8(model: nn.Module) -> nn.Module:
    """PyTorch's post-training *dynamic* int8 quantisation of every ``nn.Linear`` (int8 weights
    per tensor; activations quantised per batch at run time), on a copy of ``model``.

    ``torch.ao.quantization`` is deprecated in torch 2.13 (its successor is ``torchao``); the
    deprecation warnings are silenced here and a clear error is raised once it is removed.
    """
    import copy

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            from torch.ao.quantization import quantize_dynamic
        except ImportError as err:  # pragma: no cover - depends on the torch version
            raise RuntimeError(
                "this torch has no torch.ao.quantization.quantize_dynamic; install torchao and "
                "use torchao.quantization.quantize_(model, Int8DynamicActivationInt8WeightConfig())"
            ) from err
        return quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the file a model ships as."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes
