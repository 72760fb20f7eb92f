"""Bad input to companion.linear (Chapter 3): every plausible mistake gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import linear as L
from tests.badinput.harness import expect_clear_error

DT = torch.float64
X = torch.randn(6, 2, dtype=DT, generator=torch.Generator().manual_seed(0))
Y = torch.randn(6, dtype=DT, generator=torch.Generator().manual_seed(1))
Y01 = torch.tensor([0.0, 1, 0, 1, 1, 0], dtype=DT)
LABELS = torch.tensor([0, 1, 2, 0, 1, 2])
W = torch.zeros(2, dtype=DT)
B = torch.zeros((), dtype=DT)
WS = torch.zeros(3, 2, dtype=DT)  # softmax weights (C, d)
BS = torch.zeros(3, dtype=DT)
NAN, INF = float("nan"), float("inf")

CASES = [
    # (id, call, argument named, error kind)
    ("X numpy", lambda: L.least_squares(X.numpy(), Y), "X", TypeError),
    ("X list", lambda: L.least_squares(X.tolist(), Y), "X", TypeError),
    ("y numpy", lambda: L.least_squares(X, Y.numpy()), "y", TypeError),
    ("X int", lambda: L.least_squares(X.long(), Y), "X", TypeError),
    ("X 1-D", lambda: L.least_squares(X[:, 0], Y), "X", ValueError),
    ("X 3-D", lambda: L.mse_loss(X[None], Y, W, B), "X", ValueError),
    ("y 2-D", lambda: L.least_squares(X, Y[:, None]), "y", ValueError),
    ("n mismatch", lambda: L.least_squares(X, Y[:5]), "y", ValueError),
    ("y float32", lambda: L.least_squares(X, Y.float()), "y", TypeError),
    ("empty", lambda: L.least_squares(X[:0], Y[:0]), "X", ValueError),
    ("normal eq numpy", lambda: L.normal_equations(np.ones((6, 2)), Y), "X", TypeError),
    ("design list", lambda: L.design_matrix([[1.0, 2.0]]), "X", TypeError),
    ("design int", lambda: L.design_matrix(torch.ones(3, 2, dtype=torch.long)), "X", TypeError),
    ("w wrong size", lambda: L.linear_predict(X, torch.zeros(3, dtype=DT), B), "w", ValueError),
    ("b vector", lambda: L.linear_predict(X, W, torch.zeros(1, dtype=DT)), "b", ValueError),
    ("w float32", lambda: L.linear_predict(X, W.float(), B), "w", TypeError),
    ("w numpy", lambda: L.mse_loss(X, Y, np.zeros(2), B), "w", TypeError),
    ("mse_gradient b list", lambda: L.mse_gradient(X, Y, W, [0.0]), "b", TypeError),
    ("max lr numpy", lambda: L.max_stable_learning_rate(X.numpy()), "X", TypeError),
    ("max lr int", lambda: L.max_stable_learning_rate(X.long()), "X", TypeError),
    ("gd lr nan", lambda: L.fit_linear_gd(X, Y, lr=NAN, steps=5), "lr", ValueError),
    ("gd lr inf", lambda: L.fit_linear_gd(X, Y, lr=INF, steps=5), "lr", ValueError),
    ("gd lr zero", lambda: L.fit_linear_gd(X, Y, lr=0.0, steps=5), "lr", ValueError),
    ("gd lr negative", lambda: L.fit_linear_gd(X, Y, lr=-0.1, steps=5), "lr", ValueError),
    ("gd lr string", lambda: L.fit_linear_gd(X, Y, lr="0.1", steps=5), "lr", TypeError),
    ("gd steps negative", lambda: L.fit_linear_gd(X, Y, lr=0.1, steps=-3), "steps", ValueError),
    ("gd steps float", lambda: L.fit_linear_gd(X, Y, lr=0.1, steps=2.5), "steps", TypeError),
    ("gd steps bool", lambda: L.fit_linear_gd(X, Y, lr=0.1, steps=True), "steps", TypeError),
    ("gd w0 shape", lambda: L.fit_linear_gd(X, Y, 0.1, 2, w0=torch.zeros(3, dtype=DT)), "w0",
     ValueError),
    ("gd b0 float32", lambda: L.fit_linear_gd(X, Y, 0.1, 2, b0=torch.zeros(())), "b0", TypeError),
    ("gd w0 numpy", lambda: L.fit_linear_gd(X, Y, 0.1, 2, w0=np.zeros(2)), "w0", TypeError),
    ("sgd epochs 0", lambda: L.fit_linear_sgd(X, Y, lr=0.1, epochs=0), "epochs", ValueError),
    ("sgd epochs negative", lambda: L.fit_linear_sgd(X, Y, lr=0.1, epochs=-1), "epochs",
     ValueError),
    ("sgd batch 0", lambda: L.fit_linear_sgd(X, Y, 0.1, 1, batch_size=0), "batch_size",
     ValueError),
    ("sgd batch float", lambda: L.fit_linear_sgd(X, Y, 0.1, 1, batch_size=8.0), "batch_size",
     TypeError),
    ("sgd decay negative", lambda: L.fit_linear_sgd(X, Y, 0.1, 1, decay=-0.5), "decay",
     ValueError),
    ("sgd decay nan", lambda: L.fit_linear_sgd(X, Y, 0.1, 1, decay=NAN), "decay", ValueError),
    ("sgd generator int", lambda: L.fit_linear_sgd(X, Y, 0.1, 1, generator=0), "generator",
     TypeError),
    ("sgd lr nan", lambda: L.fit_linear_sgd(X, Y, lr=NAN, epochs=1), "lr", ValueError),
    ("source link", lambda: L.source_update_rule(X[:, 0], Y, link="relu"), "link", ValueError),
    ("source x 2-D", lambda: L.source_update_rule(X, Y), "x", ValueError),
    ("source x int", lambda: L.source_update_rule(torch.arange(5), torch.arange(5)), "x",
     TypeError),
    ("source lr inf", lambda: L.source_update_rule(X[:, 0], Y, lr=INF), "lr", ValueError),
    ("source epochs 0", lambda: L.source_update_rule(X[:, 0], Y, epochs=0), "epochs",
     ValueError),
    ("source sigmoid labels", lambda: L.source_update_rule(X[:, 0], Y, link="sigmoid"), "y",
     ValueError),
    ("bce labels 2", lambda: L.binary_cross_entropy_with_logits(Y, Y01 * 2), "y", ValueError),
    ("bce labels -1", lambda: L.binary_cross_entropy_with_logits(Y, Y01 - 1), "y", ValueError),
    ("bce labels long", lambda: L.binary_cross_entropy_with_logits(Y, Y01.long()), "y",
     TypeError),
    ("bce z int", lambda: L.binary_cross_entropy_with_logits(Y.long(), Y01), "z", TypeError),
    ("bce shape", lambda: L.binary_cross_entropy_with_logits(Y, Y01[:5]), "y", ValueError),
    ("log_sigmoid list", lambda: L.log_sigmoid([0.0, 1.0]), "z", TypeError),
    ("logistic l2 negative", lambda: L.logistic_loss(X, Y01, W, B, l2=-1.0), "l2", ValueError),
    ("logistic l2 nan", lambda: L.logistic_gradient(X, Y01, W, B, l2=NAN), "l2", ValueError),
    ("logistic grad labels", lambda: L.logistic_gradient(X, Y01 + 1, W, B), "y", ValueError),
    ("fit logistic labels", lambda: L.fit_logistic_gd(X, Y, lr=0.1, steps=2), "y", ValueError),
    ("fit logistic l2 neg", lambda: L.fit_logistic_gd(X, Y01, 0.1, 2, l2=-0.1), "l2",
     ValueError),
    ("fit logistic steps 0", lambda: L.fit_logistic_gd(X, Y01, 0.1, 0), "steps", ValueError),
    ("C zero", lambda: L.l2_from_sklearn_C(0.0, 10), "C", ValueError),
    ("C inf", lambda: L.l2_from_sklearn_C(INF, 10), "C", ValueError),
    ("n_samples float", lambda: L.l2_from_sklearn_C(1.0, 10.5), "n_samples", TypeError),
    ("log_softmax 1-D", lambda: L.log_softmax(Y), "Z", ValueError),
    ("ce labels float", lambda: L.softmax_cross_entropy(X, Y01), "y", TypeError),
    ("ce labels >= C", lambda: L.softmax_cross_entropy(X, LABELS), "y", ValueError),
    ("ce labels negative", lambda: L.softmax_cross_entropy(X, LABELS - 1), "y", ValueError),
    ("ce logits int", lambda: L.softmax_cross_entropy(X.long(), LABELS % 2), "logits",
     TypeError),
    ("ce batch mismatch", lambda: L.softmax_cross_entropy(X[:5], LABELS % 2), "y", ValueError),
    ("ce labels numpy", lambda: L.softmax_cross_entropy(X, np.zeros(6, dtype=int)), "y",
     TypeError),
    ("softmax W d x C layout", lambda: L.softmax_loss(X, LABELS, WS.T, BS), "W", ValueError),
    ("softmax b wrong size", lambda: L.softmax_loss(X, LABELS, WS, BS[:2]), "b", ValueError),
    ("softmax labels >= C", lambda: L.softmax_loss(X, LABELS + 1, WS, BS), "y", ValueError),
    ("softmax l2 negative", lambda: L.softmax_gradient(X, LABELS, WS, BS, l2=-1), "l2",
     ValueError),
    ("softmax probs W list", lambda: L.softmax_probabilities(X, WS.tolist(), BS), "W", TypeError),
    ("fit softmax classes 1", lambda: L.fit_softmax_gd(X, LABELS * 0, 1, 0.1, 2), "classes",
     ValueError),
    ("fit softmax classes float", lambda: L.fit_softmax_gd(X, LABELS, 3.0, 0.1, 2), "classes",
     TypeError),
    ("fit softmax labels >= classes", lambda: L.fit_softmax_gd(X, LABELS, 2, 0.1, 2), "y",
     ValueError),
    ("fit softmax lr nan", lambda: L.fit_softmax_gd(X, LABELS, 3, NAN, 2), "lr", ValueError),
    ("fit softmax steps -1", lambda: L.fit_softmax_gd(X, LABELS, 3, 0.1, -1), "steps",
     ValueError),
    ("fit softmax l2 inf", lambda: L.fit_softmax_gd(X, LABELS, 3, 0.1, 2, l2=INF), "l2",
     ValueError),
    ("fit softmax float labels", lambda: L.fit_softmax_gd(X, LABELS.double(), 3, 0.1, 2), "y",
     TypeError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_accepted_inputs_give_the_right_answer():
    """Inputs that are accepted on purpose: int32 labels, and the right answer for them."""
    loss32, grad32 = L.softmax_cross_entropy(X[:, :2], (LABELS % 2).int())
    ref = torch.nn.functional.cross_entropy(X[:, :2], LABELS % 2)
    torch.testing.assert_close(loss32, ref)
    assert grad32.shape == (6, 2)
