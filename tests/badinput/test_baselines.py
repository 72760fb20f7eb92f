"""Plausible mistakes with Chapter 2's baseline comparison (companion.baselines)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from companion.baselines import (  # noqa: E402
    compare_models,
    learned_parameter_count,
    plot_decision_boundary,
    xor_blobs,
)
from companion.data import Split  # noqa: E402
from tests.badinput.harness import expect_clear_error  # noqa: E402


def _split():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, generator=g)
    y = (X[:, 0] > 0).long()
    return Split(X[:30], y[:30], X[30:], y[30:], classes=("0", "1"), description="toy")


_S = _split()
_X, _y = xor_blobs(8)
_ax = plt.figure().add_subplot()

BAD_CALLS = [
    ("split", TypeError, lambda: compare_models((_S.X_train, _S.y_train))),
    ("hidden", TypeError, lambda: compare_models(_S, hidden=64)),
    ("hidden", TypeError, lambda: compare_models(_S, hidden="64")),
    ("hidden[0]", ValueError, lambda: compare_models(_S, hidden=(0,))),
    ("hidden[0]", TypeError, lambda: compare_models(_S, hidden=(64.0,))),
    ("epochs", ValueError, lambda: compare_models(_S, epochs=0)),
    ("epochs", ValueError, lambda: compare_models(_S, epochs=-5)),
    ("epochs", TypeError, lambda: compare_models(_S, epochs=2.5)),
    ("lr", ValueError, lambda: compare_models(_S, lr=0.0)),
    ("lr", ValueError, lambda: compare_models(_S, lr=-1e-3)),
    ("lr", ValueError, lambda: compare_models(_S, lr=float("nan"))),
    ("lr", TypeError, lambda: compare_models(_S, lr="3e-3")),
    ("batch_size", ValueError, lambda: compare_models(_S, batch_size=0)),
    ("batch_size", TypeError, lambda: compare_models(_S, batch_size=True)),
    ("standardize", TypeError, lambda: compare_models(_S, standardize="no")),
    ("seed", ValueError, lambda: compare_models(_S, seed=-1)),
    ("threads", ValueError, lambda: compare_models(_S, threads=0)),
    ("model", ValueError, lambda: learned_parameter_count(LogisticRegression())),
    ("model", ValueError, lambda: learned_parameter_count(SVC())),
    ("model", ValueError, lambda: learned_parameter_count(DecisionTreeClassifier())),
    ("model", TypeError, lambda: learned_parameter_count("svm")),
    ("n", ValueError, lambda: xor_blobs(6)),
    ("n", ValueError, lambda: xor_blobs(0)),
    ("n", TypeError, lambda: xor_blobs(400.0)),
    ("noise", ValueError, lambda: xor_blobs(8, noise=-0.1)),
    ("noise", ValueError, lambda: xor_blobs(8, noise=float("nan"))),
    ("seed", TypeError, lambda: xor_blobs(8, seed=0.5)),
    ("X", ValueError, lambda: plot_decision_boundary(_ax, lambda g: g[:, 0] > 0, _X[:, :1], _y)),
    ("y", ValueError, lambda: plot_decision_boundary(_ax, lambda g: g[:, 0] > 0, _X, _y[:3])),
    ("predict", TypeError, lambda: plot_decision_boundary(_ax, "svm", _X, _y)),
]


@pytest.mark.parametrize(
    "name,kind,call", BAD_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CALLS)]
)
def test_clear_error(name, kind, call):
    expect_clear_error(call, name, kind=kind)


def test_hidden_as_list_or_numpy_ints_is_the_same_model():
    a = compare_models(_S, hidden=[4], epochs=1, seed=0)
    b = compare_models(_S, hidden=(np.int64(4),), epochs=1, seed=0)
    assert a["n_parameters"].tolist() == b["n_parameters"].tolist()
    assert a["n_parameters"].iloc[-1] == 3 * 4 + 4 + 4 * 2 + 2  # weights + biases, by hand


def test_plot_accepts_tensors():
    X, y = torch.as_tensor(_X), torch.as_tensor(_y)
    ax = plot_decision_boundary(
        plt.figure().add_subplot(), lambda g: (g[:, 0] > 0).astype(int), X, y
    )
    assert ax.get_xlabel() == "$x_1$"
    plt.close("all")


_gx = torch.Generator().manual_seed(0)
_Xc, _yc = torch.randn(12, 3, generator=_gx), torch.randint(0, 2, (12,), generator=_gx)
_net = torch.nn.Linear(3, 2)

from companion.baselines import train_validation_curves, train_validation_split  # noqa: E402

CURVE_CALLS = [
    ("X", TypeError, lambda: train_validation_split(_Xc.numpy(), _yc)),
    ("y", ValueError, lambda: train_validation_split(_Xc, _yc[:, None])),
    ("X", ValueError, lambda: train_validation_split(_Xc, _yc[:5])),
    ("val_fraction", ValueError, lambda: train_validation_split(_Xc, _yc, 1.0)),
    ("val_fraction", ValueError, lambda: train_validation_split(_Xc, _yc, 0.01)),
    ("val_fraction", ValueError, lambda: train_validation_split(_Xc, _yc, float("nan"))),
    ("model", TypeError, lambda: train_validation_curves("mlp", (_Xc, _yc), (_Xc, _yc), steps=1)),
    ("train", TypeError, lambda: train_validation_curves(_net, _Xc, (_Xc, _yc), steps=1)),
    (
        "train[0]",
        TypeError,
        lambda: train_validation_curves(_net, (_Xc.double(), _yc), (_Xc, _yc), steps=1),
    ),
    (
        "train[0]",
        TypeError,
        lambda: train_validation_curves(_net, (_Xc.numpy(), _yc), (_Xc, _yc), steps=1),
    ),
    (
        "val[1]",
        TypeError,
        lambda: train_validation_curves(_net, (_Xc, _yc), (_Xc, _yc.float()), steps=1),
    ),
    ("val", ValueError, lambda: train_validation_curves(_net, (_Xc, _yc), (_Xc, _yc[:4]), steps=1)),
    ("steps", ValueError, lambda: train_validation_curves(_net, (_Xc, _yc), (_Xc, _yc), steps=0)),
    (
        "lr",
        ValueError,
        lambda: train_validation_curves(_net, (_Xc, _yc), (_Xc, _yc), steps=1, lr=-1),
    ),
    (
        "weight_decay",
        ValueError,
        lambda: train_validation_curves(_net, (_Xc, _yc), (_Xc, _yc), steps=1, weight_decay=-0.1),
    ),
    (
        "record_every",
        ValueError,
        lambda: train_validation_curves(_net, (_Xc, _yc), (_Xc, _yc), steps=1, record_every=0),
    ),
]


@pytest.mark.parametrize(
    "name,kind,call", CURVE_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(CURVE_CALLS)]
)
def test_curves_clear_error(name, kind, call):
    expect_clear_error(call, name, kind=kind)
