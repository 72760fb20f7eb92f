"""Chapter 2's comparison of traditional models with a small network, on real digits."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from companion.baselines import (
    compare_models,
    learned_parameter_count,
    plot_decision_boundary,
    xor_blobs,
)
from companion.data import load_digits
from companion.mlp import MLP
from companion.train import accuracy, fit

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits_result():
    return compare_models(load_digits(), epochs=15, return_models=True)


def test_table_has_the_four_models_and_sensible_numbers(digits_result):
    table, models = digits_result
    assert list(table.columns) == [
        "model",
        "test_accuracy",
        "n_parameters",
        "what_is_counted",
        "train_time_s",
    ]
    acc = dict(zip(table["model"], table["test_accuracy"], strict=True))
    assert acc["logistic regression"] > 0.9
    assert acc["neural network (MLP)"] > 0.9
    assert acc["SVM (RBF kernel)"] > 0.9
    assert 0.7 < acc["decision tree"] < acc["SVM (RBF kernel)"]
    assert (table["train_time_s"] > 0).all()
    assert set(models) == set(table["model"])


def test_parameter_counts_follow_the_definitions(digits_result):
    table, models = digits_result
    n = dict(zip(table["model"], table["n_parameters"], strict=True))
    assert n["logistic regression"] == 10 * 64 + 10
    assert n["neural network (MLP)"] == 64 * 64 + 64 + 64 * 10 + 10
    svc = models["SVM (RBF kernel)"]
    n_sv = int(svc.n_support_.sum())
    # one-vs-one with 10 classes: 9 dual coefficients per support vector, 45 intercepts
    assert n["SVM (RBF kernel)"] == n_sv * 64 + 9 * n_sv + 45
    tree = models["decision tree"]
    assert n["decision tree"] == tree.tree_.node_count == 2 * tree.get_n_leaves() - 1


def test_binary_logistic_regression_has_d_plus_one_parameters():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = (X[:, 0] > 0).astype(int)
    assert learned_parameter_count(LogisticRegression().fit(X, y)) == 4
    assert learned_parameter_count(DecisionTreeClassifier(max_depth=1).fit(X, y)) == 3
    svc = SVC().fit(X, y)
    assert learned_parameter_count(svc) == svc.n_support_.sum() * 4 + 1
    assert learned_parameter_count(MLP((3, 2))) == 8
    with pytest.raises(TypeError, match="model must be a fitted"):
        learned_parameter_count("tree")


def test_compare_models_restores_thread_settings_and_checks_input():
    torch.set_num_threads(2)
    with pytest.raises(TypeError, match="companion.data.Split"):
        compare_models((torch.zeros(3, 2), torch.zeros(3)))
    assert torch.get_num_threads() == 2


def test_xor_is_not_linearly_separable_but_an_mlp_learns_it():
    X, y = xor_blobs(400, seed=0)
    assert X.shape == (400, 2) and X.dtype == np.float32 and y.mean() == 0.5
    assert np.mean((X[:, 0] * X[:, 1] < 0) == y) > 0.9  # label = XOR of the two signs
    lr = LogisticRegression().fit(X, y)
    assert lr.score(X, y) < 0.7
    torch.manual_seed(0)
    net = MLP((2, 16, 2), activation="tanh")
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    fit(net, opt, torch.nn.functional.cross_entropy, (Xt, yt), epochs=150, batch_size=400)
    with torch.no_grad():
        assert accuracy(net(Xt), yt) > 0.9
    with pytest.raises(ValueError, match="multiple of 4"):
        xor_blobs(10)


def test_plot_decision_boundary_checks_shape():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    X, y = xor_blobs(40)
    plot_decision_boundary(ax, lambda g: (g[:, 0] > 0).astype(int), X, y)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_decision_boundary(ax, lambda g: g[:, 0], np.zeros((5, 3)), np.zeros(5))
    plt.close(fig)
