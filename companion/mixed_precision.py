"""Mixed precision: what bf16 and fp16 keep and lose, and loss scaling (Chapter 9, §9.2).

A floating-point number has a sign, an exponent and a mantissa. float32 spends 8 bits on the
exponent and 23 on the mantissa; **bfloat16** keeps float32's 8 exponent bits (the same range,
about 1e-38 to 3e38) and only 7 mantissa bits (about 2-3 significant decimal digits);
**float16** has 5 exponent bits and 10 mantissa bits: more precise than bf16, but nothing above
65504 and nothing below about 6e-8 (values smaller than that *underflow* to zero).

* :func:`format_table` lists these properties from ``torch.finfo``.
* :func:`roundtrip` measures what a cast does to real tensors: the relative error and the
  share of non-zero values that overflow to infinity or underflow to zero.
* :func:`tiny_gradient_step` reproduces the failure that loss scaling fixes: with fp16
  autocast, gradients of about 1e-8 vanish in the backward pass; ``torch.amp.GradScaler``
  multiplies the loss by 2^16 before ``backward`` and divides the gradients back afterwards,
  so they survive (eq. ch09-loss-scaling).

Inputs are validated as in :mod:`companion.validation`: tensors are not converted silently
and the message names the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from companion.validation import check_bool, check_choice, check_positive, check_tensor

__all__ = ["FORMATS", "RoundTrip", "format_table", "roundtrip", "tiny_gradient_step"]

FORMATS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_MANTISSA_BITS = {"float32": 23, "bfloat16": 7, "float16": 10}  # stored bits, without the hidden 1


def format_table() -> dict[str, dict[str, float]]:
    """Bits, machine epsilon, largest, smallest normal and smallest subnormal value per format."""
    table = {}
    for name, dtype in FORMATS.items():
        info = torch.finfo(dtype)
        table[name] = {
            "bits": info.bits,
            "mantissa_bits": _MANTISSA_BITS[name],
            "eps": info.eps,
            "max": info.max,
            "smallest_normal": info.smallest_normal,
            # the smallest positive subnormal is eps * smallest_normal (one unit in the last place)
            "smallest_subnormal": info.eps * info.smallest_normal,
        }
    return table


@dataclass(frozen=True)
class RoundTrip:
    """What casting a float32 tensor to ``dtype`` and back did to it."""

    dtype: str
    median_relative_error: float  # over the values that stayed finite and non-zero
    max_relative_error: float
    underflow_fraction: float  # non-zero values that became 0
    overflow_fraction: float  # finite values that became ±inf


def roundtrip(x: torch.Tensor, dtype: str) -> RoundTrip:
    """Cast float32 ``x`` to ``dtype`` (``"bfloat16"``, ``"float16"`` or ``"float32"``) and back."""
    x = check_tensor(x, "x", dtype=torch.float32)
    name = check_choice(dtype, "dtype", tuple(FORMATS))
    y = x.to(FORMATS[name]).float()
    nonzero = x != 0
    under = nonzero & (y == 0)
    over = torch.isfinite(x) & torch.isinf(y)
    ok = nonzero & (y != 0) & torch.isfinite(y)
    rel = ((y - x).abs() / x.abs())[ok]
    n = max(int(nonzero.sum()), 1)
    return RoundTrip(
        dtype=name,
        median_relative_error=float(rel.median()) if rel.numel() else float("nan"),
        max_relative_error=float(rel.max()) if rel.numel() else float("nan"),
        underflow_fraction=float(under.sum()) / n,
        overflow_fraction=float(over.sum()) / max(int(torch.isfinite(x).sum()), 1),
    )


def tiny_gradient_step(
    loss_scale_factor: float = 1e-8,
    *,
    dtype: str = "float16",
    use_scaler: bool = False,
    seed: int = 0,
) -> torch.Tensor:
    """Weight gradient of a linear layer whose loss is multiplied by ``loss_scale_factor``.

    The layer runs under ``torch.autocast`` in ``dtype`` (``"float16"``, ``"bfloat16"``, or
    ``"float32"`` for no autocast, the reference). A loss such as ``1e-8 · sum(outputs)`` has
    output gradients of 1e-8, below fp16's smallest subnormal (6e-8): they round to zero in
    the fp16 backward and the weight gradient is exactly zero. With ``use_scaler=True`` the loss
    is multiplied by ``torch.amp.GradScaler``'s scale (2^16 at the start) before ``backward``
    and the gradient divided back by ``scaler.unscale_``: it then matches the float32 reference.
    Returns the (8, 16) float32 weight gradient.
    """
    factor = check_positive(loss_scale_factor, "loss_scale_factor")
    name = check_choice(dtype, "dtype", tuple(FORMATS))
    use_scaler = check_bool(use_scaler, "use_scaler")
    gen = torch.Generator().manual_seed(seed)
    layer = nn.Linear(16, 8)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(8, 16, generator=gen) * 0.1)
        layer.bias.zero_()
    x = torch.randn(32, 16, generator=gen)
    opt = torch.optim.SGD(layer.parameters(), lr=0.0)  # the scaler unscales through an optimiser
    scaler = torch.amp.GradScaler("cpu", enabled=use_scaler)
    with torch.autocast("cpu", dtype=FORMATS[name], enabled=name != "float32"):
        loss = factor * layer(x).float().pow(2).sum()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    return layer.weight.grad.detach().clone()
