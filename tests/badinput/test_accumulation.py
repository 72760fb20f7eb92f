"""Bad input to companion.accumulation (Chapter 9, §9.3)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion import accumulation as A
from tests.badinput.harness import expect_clear_error

MODEL = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
X = torch.randn(10, 4)
Y = torch.randint(0, 3, (10,))
CE = nn.functional.cross_entropy

CASES = [
    ("model function", lambda: A.large_batch_gradients(CE, X, Y, CE), "model", TypeError),
    ("X numpy", lambda: A.large_batch_gradients(MODEL, X.numpy(), Y, CE), "X", TypeError),
    ("X float64", lambda: A.accumulated_gradients(MODEL, X.double(), Y, CE, 2), "X", TypeError),
    ("X int", lambda: A.accumulated_gradients(MODEL, X.long(), Y, CE, 2), "X", TypeError),
    ("y list", lambda: A.accumulated_gradients(MODEL, X, Y.tolist(), CE, 2), "y", TypeError),
    ("y short", lambda: A.accumulated_gradients(MODEL, X, Y[:9], CE, 2), "y", ValueError),
    ("loss_fn string", lambda: A.accumulated_gradients(MODEL, X, Y, "ce", 2), "loss_fn", TypeError),
    ("k zero", lambda: A.accumulated_gradients(MODEL, X, Y, CE, 0), "micro_batches", ValueError),
    ("k float", lambda: A.accumulated_gradients(MODEL, X, Y, CE, 2.0), "micro_batches", TypeError),
    (
        "k too large",
        lambda: A.accumulated_gradients(MODEL, X, Y, CE, 11),
        "micro_batches",
        ValueError,
    ),
    ("k bool", lambda: A.accumulated_gradients(MODEL, X, Y, CE, True), "micro_batches", TypeError),
    (
        "ckpt not sequential",
        lambda: A.checkpointing_cost(nn.Linear(4, 4), X, 2),
        "model",
        TypeError,
    ),
    ("ckpt segments 0", lambda: A.checkpointing_cost(MODEL, X, 0), "segments", ValueError),
    ("ckpt segments > layers", lambda: A.checkpointing_cost(MODEL, X, 4), "segments", ValueError),
    ("ckpt X float64", lambda: A.checkpointing_cost(MODEL, X.double(), 2), "X", TypeError),
    ("ckpt repeats 0", lambda: A.checkpointing_cost(MODEL, X, 2, repeats=0), "repeats", ValueError),
]


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_float64_model_with_float64_data_is_accepted():
    model = nn.Linear(4, 3).double()
    a = A.accumulated_gradients(model, X.double(), Y, CE, 3)
    b = A.large_batch_gradients(model, X.double(), Y, CE)
    for g, h in zip(a, b, strict=True):
        torch.testing.assert_close(g, h, rtol=1e-12, atol=1e-14)
