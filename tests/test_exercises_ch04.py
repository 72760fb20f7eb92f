"""The Chapter 4 exercise checks accept right answers and name the usual slips."""

import math

import numpy as np
import pytest
import torch

from companion.autograd import Value
from companion.exercises import CheckFailed
from companion.exercises.ch04 import (
    MEMORY_BATCH,
    MEMORY_SIZES,
    TINY_NETWORK,
    check_hidden_delta,
    check_sin,
    check_stored_values,
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
    "answer", [150016, 150016.0, np.int64(150016), np.float64(150016), torch.tensor(150016)]
)
def test_stored_values_right_in_every_type(answer):
    assert check_stored_values(answer)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (26122, "number of parameters"),  # the parameter count of [64, 128, 128, 10]
        (256 * (64 + 128 + 128), "also needs every Z_l"),
        (256 * (128 + 128 + 10), "input A_\\{l-1\\}"),
        (586, "every one of the 256 rows"),
        (150000, "not it"),
    ],
)
def test_stored_values_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_stored_values(answer)


def test_stored_values_answer_counts_the_real_cache():
    mlp = ManualMLP(list(MEMORY_SIZES), "tanh", generator=torch.Generator().manual_seed(0))
    _, cache = mlp.forward(torch.zeros(MEMORY_BATCH, MEMORY_SIZES[0], dtype=torch.float64))
    assert sum(t.numel() for pair in cache for t in pair) == 150016
    twin = mlp.to_sequential()
    assert sum(p.numel() for p in twin.parameters()) == 26122
