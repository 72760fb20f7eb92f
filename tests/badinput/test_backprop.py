"""Bad input to Chapter 4's hand-written backpropagation: companion.manual_mlp,
manual_layer, gradcheck and initialization."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.gradcheck import finite_difference_grad, relative_error
from companion.initialization import init_layer, init_std
from companion.manual_layer import ManualLayer
from companion.manual_mlp import ManualMLP, layer_gradient_norms
from tests.badinput.harness import expect_clear_error

DT = torch.float64
MLP = ManualMLP([4, 3, 2], generator=torch.Generator().manual_seed(0))
X = torch.randn(5, 4, dtype=DT, generator=torch.Generator().manual_seed(1))
Y = torch.tensor([0, 1, 1, 0, 1])
CACHE = MLP.forward(X)[1]
A3, W23, B2 = torch.zeros(4, 3, dtype=DT), torch.zeros(2, 3, dtype=DT), torch.zeros(2, dtype=DT)
NAN = float("nan")


def square_sum(t):
    return (t**2).sum()


CASES = [
    ("sizes too short", lambda: ManualMLP([4]), "sizes", ValueError),
    ("sizes string", lambda: ManualMLP("4,3,2"), "sizes", TypeError),
    ("sizes zero width", lambda: ManualMLP([4, 0, 2]), "sizes[1]", ValueError),
    ("sizes negative", lambda: ManualMLP([4, -3, 2]), "sizes[1]", ValueError),
    ("sizes float", lambda: ManualMLP([4, 3.0, 2]), "sizes[1]", TypeError),
    ("sizes bool", lambda: ManualMLP([4, True, 2]), "sizes[1]", TypeError),
    ("activation unknown", lambda: ManualMLP([4, 2], "swish"), "activation", ValueError),
    ("activation gelu unsupported", lambda: ManualMLP([4, 2], "gelu"), "activation", ValueError),
    ("init unknown", lambda: ManualMLP([4, 2], init="kaiming"), "init", ValueError),
    ("dtype int", lambda: ManualMLP([4, 2], dtype=torch.int64), "dtype", TypeError),
    ("generator seed int", lambda: ManualMLP([4, 2], generator=0), "generator", TypeError),
    ("X numpy", lambda: MLP.forward(X.numpy()), "X", TypeError),
    ("X list", lambda: MLP.forward(X.tolist()), "X", TypeError),
    ("X float32", lambda: MLP.forward(X.float()), "X", TypeError),
    ("X int", lambda: MLP.forward(X.long()), "X", TypeError),
    ("X images", lambda: MLP.forward(X.reshape(5, 2, 2)), "X", ValueError),
    ("X wrong width", lambda: MLP.forward(X[:, :3]), "X", ValueError),
    ("X 1-D", lambda: MLP.forward(X[0]), "X", ValueError),
    ("labels out of range", lambda: MLP.loss_and_grads(X, Y + 1), "y", ValueError),
    ("labels negative", lambda: MLP.loss_and_grads(X, Y - 1), "y", ValueError),
    ("labels float", lambda: MLP.loss_and_grads(X, Y.double()), "y", TypeError),
    ("labels batch mismatch", lambda: MLP.loss_and_grads(X, Y[:4]), "y", ValueError),
    ("labels numpy", lambda: MLP.flat_grads(X, Y.numpy()), "y", TypeError),
    ("delta wrong width", lambda: MLP.backward(CACHE, torch.zeros(5, 3, dtype=DT)), "delta_out",
     ValueError),
    ("delta wrong batch", lambda: MLP.backward(CACHE, torch.zeros(4, 2, dtype=DT)), "delta_out",
     ValueError),
    ("delta int", lambda: MLP.backward(CACHE, torch.zeros(5, 2, dtype=torch.long)), "delta_out",
     TypeError),
    ("delta numpy", lambda: MLP.backward(CACHE, np.zeros((5, 2))), "delta_out", TypeError),
    ("cache wrong", lambda: MLP.backward(CACHE[:1], torch.zeros(5, 2, dtype=DT)), "cache",
     TypeError),
    ("norms not an mlp", lambda: layer_gradient_norms(MLP.to_sequential(), X, Y), "mlp",
     TypeError),
    ("from_sequential module", lambda: ManualMLP.from_sequential(torch.nn.Linear(2, 2), "tanh"),
     "model", TypeError),
    ("from_sequential no Linear", lambda: ManualMLP.from_sequential(torch.nn.Sequential(
        torch.nn.Tanh()), "tanh"), "model", ValueError),
    ("stored_values n 0", lambda: MLP.stored_values(0), "n", ValueError),
    ("layer activation", lambda: ManualLayer.apply(A3, W23, B2, "swish"), "activation",
     ValueError),
    ("layer W transposed", lambda: ManualLayer.apply(A3, W23.T, B2, "tanh"), "W", ValueError),
    ("layer b wrong size", lambda: ManualLayer.apply(A3, W23, B2[:1], "tanh"), "b", ValueError),
    ("layer A_prev int", lambda: ManualLayer.apply(A3.long(), W23, B2, "tanh"), "A_prev",
     TypeError),
    ("layer A_prev numpy", lambda: ManualLayer.apply(A3.numpy(), W23, B2, "tanh"), "A_prev",
     TypeError),
    ("fd int tensor", lambda: finite_difference_grad(square_sum, torch.tensor([1, 2, 3])), "x",
     TypeError),
    ("fd numpy", lambda: finite_difference_grad(square_sum, np.ones(3)), "x", TypeError),
    ("fd list", lambda: finite_difference_grad(square_sum, [1.0, 2.0]), "x", TypeError),
    ("fd eps zero", lambda: finite_difference_grad(square_sum, X, eps=0.0), "eps", ValueError),
    ("fd eps negative", lambda: finite_difference_grad(square_sum, X, eps=-1e-6), "eps",
     ValueError),
    ("fd eps nan", lambda: finite_difference_grad(square_sum, X, eps=NAN), "eps", ValueError),
    ("fd f not callable", lambda: finite_difference_grad(3.0, X), "f", TypeError),
    ("fd f not scalar", lambda: finite_difference_grad(lambda t: t * 2, X), "f", ValueError),
    ("rel shapes", lambda: relative_error(X, X[:2]), "a", ValueError),
    ("rel numpy", lambda: relative_error(X.numpy(), X), "a", TypeError),
    ("rel int", lambda: relative_error(X, X.long()), "b", TypeError),
    ("rel floor negative", lambda: relative_error(X, X, floor=-1.0), "floor", ValueError),
    ("init scheme", lambda: init_layer(3, 2, "glorot"), "scheme", ValueError),
    ("init n_in 0", lambda: init_layer(0, 2, "he"), "n_in", ValueError),
    ("init n_out float", lambda: init_layer(3, 2.0, "he"), "n_out", TypeError),
    ("init dtype int", lambda: init_layer(3, 2, "he", dtype=torch.int32), "dtype", TypeError),
    ("init_std scheme", lambda: init_std(3, 2, "lecun"), "scheme", ValueError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_float32_network_accepts_float32_data_correctly():
    """Accepted on purpose: a float32 network with float32 data, against its autograd twin."""
    mlp = ManualMLP([4, 3, 2], dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    loss, grads = mlp.loss_and_grads(X.float(), Y)
    twin = mlp.to_sequential()
    torch.nn.functional.cross_entropy(twin(X.float()), Y).backward()
    torch.testing.assert_close(grads[0][0], twin[0].weight.grad)
