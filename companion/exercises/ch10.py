"""Checks for the exercises of Chapter 10 (compression and transfer).

* ``ch10-quantiser``: a per-tensor affine quantiser written from scratch (eq. ch10-affine),
  compared with ``torch.quantize_per_tensor`` and qparams computed here from min/max.
* ``ch10-lora-layer``: the LoRA forward pass and merge (eq. ch10-lora), compared with the
  check's own computation for several shapes and ranks.
* ``ch10-int4-memory``: gigabytes of a 13B model in int4 with a 16-bit scale per 64 weights.

The references are computed here with torch primitives, never with ``companion.quantization``
or ``companion.lora``, which the chapter imports.
"""

from __future__ import annotations

import warnings

import torch

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

__all__ = ["check_quantizer", "check_lora", "check_int4_memory"]


def _reference_qparams(x: torch.Tensor, bits: int) -> tuple[float, int, int, int]:
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    lo = torch.clamp(x.min(), max=0.0)
    hi = torch.clamp(x.max(), min=0.0)
    scale = torch.clamp((hi - lo) / float(qmax - qmin), min=torch.finfo(torch.float32).eps)
    zp = int(torch.clamp(qmin - torch.round(lo / scale), qmin, qmax))
    return float(scale), zp, qmin, qmax


def _torch_q(x: torch.Tensor, scale: float, zp: int, qmin: int, qmax: int) -> torch.Tensor:
    """Integers of ``torch.quantize_per_tensor`` in the range [qmin, qmax] (int8 storage, the
    narrower range applied by clamping, which commutes with PyTorch's rounding)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        q = torch.quantize_per_tensor(x, scale, zp, torch.qint8).int_repr().long()
    return q.clamp(qmin, qmax)


def _cases():
    g = torch.Generator().manual_seed(10)
    return [
        (torch.randn(200, generator=g) * 2 + 0.5, 8),
        (torch.rand(50, 3, generator=g) * 4 + 1, 8),  # all positive: the range must include 0
        (-torch.rand(64, generator=g) * 3, 8),  # all negative
        (torch.randn(300, generator=g), 4),
        (torch.randn(40, generator=g) * 0.01, 6),
    ]


def check_quantizer(my_quantize) -> Passed:
    """Exercise ch10-quantiser: ``my_quantize(x, bits) -> (q, scale, zero_point)``."""
    if not callable(my_quantize):
        raise CheckFailed("my_quantize must be a function")
    for x, bits in _cases():
        out = my_quantize(x.clone(), bits)
        if not isinstance(out, tuple) or len(out) != 3:
            raise CheckFailed("my_quantize must return a tuple (q, scale, zero_point)")
        q, scale, zp = out
        ref_s, ref_z, qmin, qmax = _reference_qparams(x, bits)
        what = f"for {bits}-bit data in [{x.min():.3g}, {x.max():.3g}]"
        expect_close(scale, ref_s, f"scale {what}", rtol=1e-5, atol=0,
                     hint="s = (max - min) / (qmax - qmin) with the range widened to contain 0, "
                     f"qmin = {qmin}, qmax = {qmax}")  # fmt: skip
        zp_t = _as_tensor(zp, "zero_point")
        if zp_t.numel() != 1 or zp_t.item() != ref_z:
            raise CheckFailed(
                f"zero_point {what} is {zp_t.flatten()[0].item():g}, expected "
                f"{ref_z}: z = qmin - round(min / s), clamped to [{qmin}, {qmax}]"
            )
        q_t = _as_tensor(q, "q")
        if q_t.shape != x.shape:
            raise CheckFailed(f"q should have the shape of x {tuple(x.shape)}, got "
                              f"{tuple(q_t.shape)}")  # fmt: skip
        if not torch.equal(q_t, q_t.round()):
            raise CheckFailed("q must hold integers: round x / s before adding the zero point")
        s_used = float(_as_tensor(scale, "scale"))
        want = _torch_q(x, s_used, ref_z, qmin, qmax).double()
        # where x / s sits on a rounding tie, float32 arithmetic may go either way: allow it
        t = x.double() / s_used
        tie = ((t - t.floor()) - 0.5).abs() < 1e-4
        if not torch.equal(q_t, want) and not bool(
            (((q_t - want).abs() <= 1) & (tie | (q_t == want))).all()
        ):
            floor = (torch.floor(x / ref_s) + ref_z).clamp(qmin, qmax).double()
            if torch.equal(q_t, floor):
                raise CheckFailed("q is truncated, not rounded: use torch.round(x / s)")
            if q_t.min() < qmin or q_t.max() > qmax:
                raise CheckFailed(f"q leaves [{qmin}, {qmax}]: clamp after adding the zero point")
            bad = int((q_t != want).sum())
            raise CheckFailed(f"{bad} of {x.numel()} integers differ from PyTorch's {what}; "
                              "q = clamp(round(x / s) + z, qmin, qmax)")  # fmt: skip
    return passed("your integers equal torch.quantize_per_tensor's for 5 tensors and 3 widths")


def check_lora(lora_forward, lora_merge) -> Passed:
    """Exercise ch10-lora-layer: ``lora_forward(x, W, b, A, B, alpha)`` and
    ``lora_merge(W, A, B, alpha)`` (eq. ch10-lora)."""
    if not callable(lora_forward) or not callable(lora_merge):
        raise CheckFailed("lora_forward and lora_merge must be functions")
    g = torch.Generator().manual_seed(3)
    for n, d_in, d_out, r, alpha in ((5, 8, 6, 2, 4.0), (3, 16, 4, 4, 4.0), (7, 10, 12, 1, 8.0)):
        x = torch.randn(n, d_in, generator=g, dtype=torch.float64)
        W = torch.randn(d_out, d_in, generator=g, dtype=torch.float64)
        b = torch.randn(d_out, generator=g, dtype=torch.float64)
        A = torch.randn(r, d_in, generator=g, dtype=torch.float64)
        B = torch.randn(d_out, r, generator=g, dtype=torch.float64)
        delta = (alpha / r) * torch.einsum("or,ri->oi", B, A)
        want = torch.einsum("ni,oi->no", x, W + delta) + b
        got = _as_tensor(lora_forward(x, W, b, A, B, alpha), "lora_forward's output")
        if got.shape != want.shape:
            raise CheckFailed(f"lora_forward should return shape {tuple(want.shape)}, got "
                              f"{tuple(got.shape)}")  # fmt: skip
        plain = torch.einsum("ni,oi->no", x, W) + b
        update = torch.einsum("ni,oi->no", x, delta) * r / alpha
        for factor, hint in ((alpha, "the update is scaled by alpha / r, not alpha"),
                             (1.0, "the update is scaled by alpha / r"),
                             (r / alpha, "the scale is alpha / r, not r / alpha"),
                             (0.0, "the low-rank update B A x is missing")):  # fmt: skip
            if factor != alpha / r and torch.allclose(got, plain + factor * update):
                raise CheckFailed(hint)
        expect_close(
            got,
            want,
            f"lora_forward (d_in={d_in}, d_out={d_out}, r={r})",
            rtol=1e-9,
            atol=1e-9,
            hint="h = x W^T + b + (alpha / r) (x A^T) B^T",
        )
        merged = _as_tensor(lora_merge(W, A, B, alpha), "lora_merge's output")
        expect_close(
            merged,
            W + delta,
            f"lora_merge (r={r})",
            rtol=1e-9,
            atol=1e-9,
            hint="W + (alpha / r) B A: shape (d_out, d_in)",
        )
    return passed("your LoRA layer and merge equal eq. (ch10-lora) for three shapes and ranks")


def check_int4_memory(int4_gb) -> Passed:
    """Exercise ch10-int4-memory: 13e9 weights at 4 + 16/64 bits = 6.906 GB."""
    got = _as_tensor(int4_gb, "int4_gb")
    if got.numel() != 1:
        raise CheckFailed(f"int4_gb should be one number, got shape {tuple(got.shape)}")
    v = got.item()
    want = 13e9 * (4 + 16 / 64) / 8 / 1e9
    hints = {
        13e9 * 4 / 8 / 1e9: "the scales cost memory too: 16 bits for every 64 weights",
        13e9 * 4.25 / 1e9: "bits, not bytes: divide by 8",
        13e9 * (4 + 16 / 64) / 8 / 2**30: "the question asks for 10^9 bytes, not GiB (2^30)",
        13e9 * (4 + 16) / 8 / 1e9: "one 16-bit scale is shared by 64 weights: 16 / 64 bits each",
    }
    for wrong, hint in hints.items():
        if abs(v - wrong) < 1e-3 * wrong:
            raise CheckFailed(f"int4_gb = {v:.4g} GB: {hint}")
    expect_close(v, want, "int4_gb (GB)", rtol=1e-3, atol=0,
                 hint="bits per weight times weights, divided by 8 for bytes")  # fmt: skip
    return passed(f"{want:.3f} GB: the weights fit in 8 GB, in bfloat16 (26 GB) they would not")
