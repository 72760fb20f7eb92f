"""Checks for the exercises of Chapter 4 (backpropagation and automatic differentiation).

* ``ch04-hidden-delta``: the error term of a hidden layer, eq. (ch04-delta-hidden).
* ``ch04-sin``: add ``sin`` to the scalar engine; checked against torch in float64.
* ``ch04-tiny-network``: gradients of a one-neuron-per-layer network by hand.
* ``ch04-max-batch``: predict how the memory the forward pass keeps for the backward pass grows
  with the batch, and find the largest batch that fits a memory budget (worked answer in the
  solution).
"""

from __future__ import annotations

import math

import torch

from companion.autograd import Value
from companion.exercises import (
    CheckFailed,
    Passed,
    _as_tensor,
    as_integer,
    expect_close,
    expect_shape,
    passed,
)


def hidden_delta_problem() -> dict[str, torch.Tensor]:
    """Layer l+1 has weights ``W_next`` (2, 3) and error term ``delta_next`` (2,); layer l
    (tanh) has pre-activation ``z`` (3,). Compute ``delta`` = dL/dz (3,)."""
    return {
        "W_next": torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=torch.float64),
        "delta_next": torch.tensor([0.2, -0.4], dtype=torch.float64),
        "z": torch.tensor([0.3, -1.2, 0.0], dtype=torch.float64),
    }


def check_hidden_delta(delta) -> Passed:
    """Exercise ch04-hidden-delta: ``delta = (W_next^T delta_next) * tanh'(z)``."""
    p = hidden_delta_problem()
    back = p["W_next"].T @ p["delta_next"]
    want = back * (1 - torch.tanh(p["z"]) ** 2)
    if torch.is_tensor(delta) and tuple(delta.shape) == (2,):
        raise CheckFailed(
            "delta has shape (2,), the size of the next layer: multiply by W_next transposed, "
            "so that the result has one entry per unit of this layer (3,)"
        )
    got = expect_shape(delta, (3,), "delta")
    if torch.allclose(got, back):
        raise CheckFailed("you sent the error back through W_next^T but forgot the factor f'(z)")
    if torch.allclose(got, back * torch.tanh(p["z"])):
        raise CheckFailed("you multiplied by f(z) = tanh(z); the factor is f'(z) = 1 - tanh(z)^2")
    expect_close(got, want, "delta", hint="delta = (W_next.T @ delta_next) * (1 - tanh(z)**2)")
    return passed("delta = (W_next^T delta_next) ⊙ f'(z), one entry per unit of this layer")


def check_sin(sin) -> Passed:
    """Exercise ch04-sin: ``sin(x: Value) -> Value`` with a correct local backward."""
    for x0 in (-2.0, -0.3, 0.0, 0.7, 2.5):
        x = Value(x0)
        out = sin(x)
        if not isinstance(out, Value):
            raise CheckFailed(f"sin must return a Value, got {type(out).__name__}")
        if not math.isclose(out.data, math.sin(x0), abs_tol=1e-12):
            raise CheckFailed(f"sin({x0}) gives {out.data:.6g}, expected {math.sin(x0):.6g}")
        if x not in out.children:
            raise CheckFailed("the result must list x among its children: Value(..., (x,), 'sin')")
        out.backward()
        if x.grad == 0.0 and math.cos(x0) != 0.0:
            raise CheckFailed("x.grad stayed 0: did you set out._backward to your closure?")
        if math.isclose(x.grad, -math.cos(x0), abs_tol=1e-12):
            raise CheckFailed("the sign of the derivative is wrong: d sin(x)/dx = +cos(x)")
        expect_close(x.grad, math.cos(x0), f"d sin(x)/dx at x = {x0}", rtol=1e-10, atol=1e-12)
    # a composite in which x is used twice: the local backward must accumulate (+=)
    x, y = Value(0.8), Value(-1.3)
    out = sin(x * y) + sin(x) * 2.0 + x
    out.backward()
    tx = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    (torch.sin(tx * ty) + torch.sin(tx) * 2.0 + tx).backward()
    hint = "use += in _backward so that gradients from several uses of x add up"
    expect_close(x.grad, tx.grad.item(), "dL/dx in sin(x*y) + 2 sin(x) + x", hint=hint)
    expect_close(y.grad, ty.grad.item(), "dL/dy in sin(x*y) + 2 sin(x) + x", hint=hint)
    return passed("sin agrees with torch in value and gradient, alone and inside a larger graph")


TINY_NETWORK = {"x": 0.5, "t": 1.0, "w1": 0.8, "b1": -0.1, "w2": -1.2, "b2": 0.3}


def tiny_network_reference() -> dict[str, float]:
    """dL/dw1, dL/db1, dL/dw2, dL/db2 of ``L = (sigmoid(w2 tanh(w1 x + b1) + b2) - t)^2 / 2``
    by autograd."""
    p = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in TINY_NETWORK.items()
    }
    h = torch.tanh(p["w1"] * p["x"] + p["b1"])
    y = torch.sigmoid(p["w2"] * h + p["b2"])
    (0.5 * (y - p["t"]) ** 2).backward()
    return {k: p[k].grad.item() for k in ("w1", "b1", "w2", "b2")}


def check_tiny_network(grads) -> Passed:
    """Exercise ch04-tiny-network: a dict with keys ``w1, b1, w2, b2``."""
    if not isinstance(grads, dict) or set(grads) != {"w1", "b1", "w2", "b2"}:
        raise CheckFailed("answer with a dict with exactly the keys 'w1', 'b1', 'w2', 'b2'")
    want = tiny_network_reference()
    hints = {
        "b2": "delta2 = (y - t) * y * (1 - y): the loss derivative times sigmoid'(z2)",
        "w2": "dL/dw2 = delta2 * h (the activation that w2 multiplies)",
        "b1": "delta1 = w2 * delta2 * (1 - h**2): send delta2 back through w2, times tanh'(z1)",
        "w1": "dL/dw1 = delta1 * x",
    }
    for key in ("b2", "w2", "b1", "w1"):  # in the order backpropagation finds them
        got = _as_tensor(grads[key], f"dL/d{key}")
        if got.numel() != 1:
            raise CheckFailed(f"dL/d{key} should be one number, got shape {tuple(got.shape)}")
        expect_close(got.reshape(()), want[key], f"dL/d{key}", rtol=1e-6, hint=hints[key])
    return passed("all four gradients match autograd")


MEMORY_SIZES = (64, 128, 128, 10)  # the network of exercise ch04-max-batch
MEMORY_BUDGET_BYTES = 64 * 2**20  # 64 MiB for what the forward pass keeps, float32
BYTES_PER_NUMBER = 4


def _max_batch_answers() -> dict[str, int]:
    """The right answer and the results of the plausible slips (the check's own arithmetic)."""
    pairs = list(zip(MEMORY_SIZES[:-1], MEMORY_SIZES[1:], strict=True))
    per_row = sum(a + b for a, b in pairs)  # A_{l-1} and Z_l of every layer, per example
    numbers = MEMORY_BUDGET_BYTES // BYTES_PER_NUMBER
    params = sum(a * b + b for a, b in pairs)
    return {
        "right": numbers // per_row,
        "rounded up": -(-numbers // per_row),
        "bytes as numbers": MEMORY_BUDGET_BYTES // per_row,
        "MB as 10^6": (64 * 10**6 // BYTES_PER_NUMBER) // per_row,
        "inputs only": numbers // sum(a for a, _ in pairs),
        "pre-activations only": numbers // sum(b for _, b in pairs),
        "parameters": numbers // params,
        "parameters subtracted": (numbers - params) // per_row,
    }


def check_max_batch(max_batch) -> Passed:
    """Exercise ch04-max-batch: the largest batch whose stored ``A_{l-1}`` and ``Z_l`` of a
    ``[64, 128, 128, 10]`` tanh network fit in 64 MiB of float32."""
    got = as_integer(max_batch, "max_batch")
    c = _max_batch_answers()
    hints = {
        "rounded up": "one row more than fits: round down, a partial row does not exist",
        "bytes as numbers": "64 MiB is a number of bytes; a float32 number takes 4 of them",
        "MB as 10^6": "a MiB is 2**20 bytes, not 10**6",
        "inputs only": "the backward pass also needs every Z_l, for f'(Z_l)",
        "pre-activations only": "the weight gradient Delta_l^T A_{l-1} also needs every layer's "
        "input A_{l-1}, the data X included",
        "parameters": "the parameters do not grow with the batch; the stored activations do",
        "parameters subtracted": "the budget is for the stored activations only; the parameters "
        "are kept elsewhere",
    }
    for key, hint in hints.items():
        if got == c[key]:
            raise CheckFailed(f"{got:,} is not it. Hint: {hint}")
    if got != c["right"]:
        raise CheckFailed(
            f"{got:,} is not it: the memory is (batch) x (numbers kept per example) x 4 bytes; "
            "find the largest batch for which that is at most 64 MiB"
        )
    return passed(f"a batch of {got:,}: the stored values grow linearly with the batch")
