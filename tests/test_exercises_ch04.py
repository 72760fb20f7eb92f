"""The Chapter 4 exercise checks accept right answers and name the usual slips."""

import math

import numpy as np
import pytest
import torch

from companion.autograd import Value
from companion.exercises import CheckFailed
from companion.exercises.ch04 import (
    MEMORY_BUDGET_BYTES,
    MEMORY_SIZES,
    TINY_NETWORK,
    check_hidden_delta,
    check_max_batch,
    check_sin,
    check_tiny_network,
    hidden_delta_problem,
    tiny_network_reference,
)
from companion.manual_mlp import ManualMLP


def test_hidden_delta():
    p = hidden_delta_problem()
    back = p["W_next"].T @ p["delta_next"]
    assert check_hidden_delta(back * (1 - torch.tanh(p["z"]) ** 2))
    with pytest.raises(CheckFailed, match="forgot the factor"):
        check_hidden_delta(back)
    with pytest.raises(CheckFailed, match="f'\\(z\\) = 1 - tanh"):
        check_hidden_delta(back * torch.tanh(p["z"]))
    with pytest.raises(CheckFailed, match="transposed"):
        check_hidden_delta(p["delta_next"])


def _sin(sign=1.0, accumulate=True):
    def value_sin(x):
        out = Value(math.sin(x.data), (x,), "sin")

        def _backward():
            if accumulate:
                x.grad += sign * math.cos(x.data) * out.grad
            else:
                x.grad = sign * math.cos(x.data) * out.grad

        out._backward = _backward
        return out

    return value_sin


def test_sin():
    assert check_sin(_sin())
    with pytest.raises(CheckFailed, match="sign"):
        check_sin(_sin(sign=-1.0))
    with pytest.raises(CheckFailed, match=r"\+="):
        check_sin(_sin(accumulate=False))
    with pytest.raises(CheckFailed, match="must return a Value"):
        check_sin(lambda x: math.sin(x.data))
    with pytest.raises(CheckFailed, match="_backward"):
        check_sin(lambda x: Value(math.sin(x.data), (x,), "sin"))


def test_tiny_network():
    n = TINY_NETWORK
    h = math.tanh(n["w1"] * n["x"] + n["b1"])
    y = 1 / (1 + math.exp(-(n["w2"] * h + n["b2"])))
    d2 = (y - n["t"]) * y * (1 - y)
    d1 = n["w2"] * d2 * (1 - h**2)
    right = {"w1": d1 * n["x"], "b1": d1, "w2": d2 * h, "b2": d2}
    assert right == pytest.approx(tiny_network_reference(), rel=1e-12)
    assert check_tiny_network(right)
    with pytest.raises(CheckFailed, match="dL/db1"):
        check_tiny_network({**right, "b1": n["w2"] * d2})  # forgot tanh'
    with pytest.raises(CheckFailed, match="keys"):
        check_tiny_network({"w1": 0.0})
    with pytest.raises(CheckFailed, match="dL/dw1"):
        check_tiny_network({**right, "w1": d1})  # forgot the input x
    with pytest.raises(CheckFailed, match="dL/db2"):
        check_tiny_network({**right, "b2": y - n["t"]})  # forgot sigmoid'
    for convert in (np.float64, torch.tensor, lambda v: np.array([v])):
        assert check_tiny_network({k: convert(v) for k, v in right.items()})


def test_hidden_delta_right_in_every_type():
    p = hidden_delta_problem()
    right = (p["W_next"].T @ p["delta_next"]) * (1 - torch.tanh(p["z"]) ** 2)
    for answer in (right, right.float(), right.numpy(), right.tolist()):
        assert check_hidden_delta(answer)


@pytest.mark.parametrize(
    "answer", [28630, 28630.0, np.int64(28630), np.float64(28630), torch.tensor(28630)]
)
def test_max_batch_right_in_every_type(answer):
    assert check_max_batch(answer)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (28631, "round down"),  # 16,777,216 / 586 = 28,630.06
        (114520, "4 of them"),  # bytes counted as numbers
        (27303, "2\\*\\*20"),  # MiB read as 10**6 bytes
        (16777216 // 320, "also needs every Z_l"),
        (16777216 // 266, "input A_\\{l-1\\}"),
        (16777216 // 26122, "do not grow with the batch"),
        ((16777216 - 26122) // 586, "kept elsewhere"),
        (28000, "not it"),
        (28630.5, "whole number"),
    ],
)
def test_max_batch_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_max_batch(answer)


def test_max_batch_answer_fits_the_real_cache():
    """The answer's batch fits in 64 MiB of float32 as ManualMLP really stores it; one more
    row does not."""
    mlp = ManualMLP(list(MEMORY_SIZES), "tanh", generator=torch.Generator().manual_seed(0))
    for n, fits in ((28630, True), (28631, False)):
        _, cache = mlp.forward(torch.zeros(n, MEMORY_SIZES[0], dtype=torch.float64))
        stored_bytes = 4 * sum(t.numel() for pair in cache for t in pair)  # float32: 4 bytes
        assert (stored_bytes <= MEMORY_BUDGET_BYTES) == fits
