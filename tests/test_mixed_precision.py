"""What bf16/fp16 keep and lose; the fp16 underflow and its fix by GradScaler (Chapter 9, §9.2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.mixed_precision import format_table, roundtrip, tiny_gradient_step


def test_format_table_matches_ieee_and_numpy():
    t = format_table()
    f16 = np.finfo(np.float16)
    assert t["float16"]["max"] == float(f16.max) == 65504.0
    assert t["float16"]["eps"] == float(f16.eps)
    assert t["float16"]["smallest_subnormal"] == float(f16.smallest_subnormal) == 2.0**-24
    assert t["float32"]["smallest_subnormal"] == float(np.finfo(np.float32).smallest_subnormal)
    assert t["bfloat16"]["smallest_subnormal"] == 2.0**-133
    assert t["bfloat16"]["smallest_normal"] == t["float32"]["smallest_normal"]  # same exponent
    for name, m in (("float32", 23), ("bfloat16", 7), ("float16", 10)):
        assert t[name]["eps"] == 2.0**-m  # eps = one unit in the last mantissa bit


def test_roundtrip_measures_what_casts_do():
    x = torch.tensor([1.0, 1e-9, 1e5, 3.0, -2.5e-8, 70000.0])
    f16 = roundtrip(x, "float16")
    assert f16.underflow_fraction == pytest.approx(2 / 6)  # 1e-9 and -2.5e-8 become 0
    assert f16.overflow_fraction == pytest.approx(2 / 6)  # 1e5 and 7e4 exceed 65504
    bf = roundtrip(x, "bfloat16")
    assert bf.underflow_fraction == 0 and bf.overflow_fraction == 0
    assert bf.max_relative_error <= 2.0**-8 + 1e-12  # round to nearest: half a unit of 2^-7
    assert roundtrip(x, "float32").max_relative_error == 0


def test_relative_error_bounds_on_random_values():
    x = torch.randn(100_000, generator=torch.Generator().manual_seed(0))
    x = x[x.abs() > 1e-4]  # fp16 subnormals (below 6.1e-5) carry fewer significant bits
    assert roundtrip(x, "float16").max_relative_error <= 2.0**-11 + 1e-9
    assert roundtrip(x, "bfloat16").max_relative_error <= 2.0**-8 + 1e-9
    assert (
        roundtrip(x, "bfloat16").median_relative_error
        > 4 * roundtrip(x, "float16").median_relative_error
    )


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def test_fp16_underflow_is_fixed_by_the_grad_scaler():
    reference = tiny_gradient_step(dtype="float32")
    assert reference.abs().max() > 0
    lost = tiny_gradient_step(dtype="float16")
    assert torch.count_nonzero(lost) == 0  # every gradient underflowed
    scaled = tiny_gradient_step(dtype="float16", use_scaler=True)
    assert _rel(scaled, reference) < 5e-3  # what is left is fp16 rounding of the forward pass
    # bf16 keeps float32's exponent range: no underflow, no scaler needed (but coarser rounding)
    assert _rel(tiny_gradient_step(dtype="bfloat16"), reference) < 3e-2


def test_larger_losses_do_not_underflow():
    assert (
        _rel(tiny_gradient_step(1e-2, dtype="float16"), tiny_gradient_step(1e-2, dtype="float32"))
        < 5e-3
    )


@pytest.mark.gpu
def test_cuda_fp16_underflow_and_scaler():
    """The same underflow on a GPU with fp16 autocast, fixed by a CUDA GradScaler."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(16, 8).cuda()
    x = torch.randn(32, 16, device="cuda")

    def grad(scale):
        layer.zero_grad()
        scaler = torch.amp.GradScaler("cuda", enabled=scale)
        opt = torch.optim.SGD(layer.parameters(), lr=0.0)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = 1e-8 * layer(x).float().pow(2).sum()
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        return layer.weight.grad.clone()

    assert torch.count_nonzero(grad(False)) == 0
    layer.zero_grad()
    ref_loss = 1e-8 * layer(x).pow(2).sum()
    ref_loss.backward()
    torch.testing.assert_close(grad(True), layer.weight.grad, rtol=1e-2, atol=1e-12)
