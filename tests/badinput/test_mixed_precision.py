"""Bad input to companion.mixed_precision (Chapter 9, §9.2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import mixed_precision as MP
from tests.badinput.harness import expect_clear_error

X = torch.randn(10)

CASES = [
    ("x numpy", lambda: MP.roundtrip(X.numpy(), "float16"), "x", TypeError),
    ("x list", lambda: MP.roundtrip([1.0, 2.0], "float16"), "x", TypeError),
    ("x float64", lambda: MP.roundtrip(X.double(), "float16"), "x", TypeError),
    ("x int", lambda: MP.roundtrip(torch.arange(3), "float16"), "x", TypeError),
    ("x already half", lambda: MP.roundtrip(X.half(), "bfloat16"), "x", TypeError),
    ("dtype torch", lambda: MP.roundtrip(X, torch.float16), "dtype", TypeError),
    ("dtype unknown", lambda: MP.roundtrip(X, "fp8"), "dtype", ValueError),
    ("factor zero", lambda: MP.tiny_gradient_step(0.0), "loss_scale_factor", ValueError),
    ("factor negative", lambda: MP.tiny_gradient_step(-1e-8), "loss_scale_factor", ValueError),
    ("factor nan", lambda: MP.tiny_gradient_step(float("nan")), "loss_scale_factor", ValueError),
    ("factor string", lambda: MP.tiny_gradient_step("1e-8"), "loss_scale_factor", TypeError),
    ("scaler int", lambda: MP.tiny_gradient_step(use_scaler=1), "use_scaler", TypeError),
    ("step dtype", lambda: MP.tiny_gradient_step(dtype="half"), "dtype", ValueError),
]


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_underflow_counted_correctly():
    a = MP.roundtrip(torch.tensor([1e-9, 1.0]), "float16")
    assert a.underflow_fraction == 0.5
    assert np.float16(1e-9) == 0  # NumPy agrees: 1e-9 underflows in fp16
