"""Bad input to the scalar autograd engine (companion.autograd, companion.autograd_graph)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.autograd import Value
from companion.autograd_graph import draw_graph, trace
from tests.badinput.harness import expect_clear_error

V = Value(2.0)

CASES = [
    ("string data", lambda: Value("2"), "real number", TypeError),
    ("bool data", lambda: Value(True), "real number", TypeError),
    ("tensor data", lambda: Value(torch.tensor(2.0)), "real number", TypeError),
    ("list data", lambda: Value([2.0]), "real number", TypeError),
    ("plus string", lambda: V + "3", "unsupported operand", TypeError),
    ("times list", lambda: [1.0] * V, "unsupported operand", TypeError),
    ("minus tensor", lambda: V - torch.tensor(1.0), "unsupported operand", TypeError),
    ("divide by None", lambda: V / None, "unsupported operand", TypeError),
    ("plus bool", lambda: V + True, "unsupported operand", TypeError),
    ("power of Value", lambda: V ** Value(3.0), "exponent", TypeError),
    ("number to the Value", lambda: 2.0 ** V, "Value", TypeError),
    ("log of negative", lambda: Value(-1.0).log(), "log", ValueError),
    ("log of zero", lambda: Value(0.0).log(), "log", ValueError),
    ("trace a float", lambda: trace(1.0), "Value", TypeError),
    ("draw a tensor", lambda: draw_graph(torch.tensor(1.0)), "Value", TypeError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_missing_operation_is_an_attribute_error():
    with pytest.raises(AttributeError, match="sin"):
        Value(1.0).sin()


@pytest.mark.parametrize("number", [3, np.float64(3.0), np.int64(3), 3.0])
def test_numeric_types_are_accepted_and_right(number):
    """Accepted on purpose: ints and NumPy scalars, with the right value and gradient."""
    x = Value(number)
    y = (x * number).log() + (x * 0.1).tanh()
    y.backward()
    t = torch.tensor(float(number), dtype=torch.float64, requires_grad=True)
    ((t * float(number)).log() + (t * 0.1).tanh()).backward()
    assert math.isclose(x.grad, t.grad.item(), rel_tol=1e-12, abs_tol=1e-300)
