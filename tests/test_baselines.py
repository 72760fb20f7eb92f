"""Chapter 2's comparison of traditional models with a small network, on real digits."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from torch import nn

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


def test_train_validation_split_partitions_the_rows():
    from companion.baselines import train_validation_split

    X = torch.arange(40.0).reshape(20, 2)
    y = torch.arange(20)
    X_tr, y_tr, X_val, y_val = train_validation_split(X, y, 0.25, seed=0)
    assert len(X_val) == 5 and len(X_tr) == 15
    assert sorted(torch.cat([y_tr, y_val]).tolist()) == list(range(20))  # disjoint, complete
    torch.testing.assert_close(X_tr[:, 0], 2.0 * y_tr)  # rows stay paired with their labels
    again = train_validation_split(X, y, 0.25, seed=0)
    assert torch.equal(again[3], y_val)  # seeded
    assert not torch.equal(train_validation_split(X, y, 0.25, seed=1)[3], y_val)
    # a wrong split (the first rows, unshuffled) would put labels 0-4 into validation
    assert sorted(y_val.tolist()) != list(range(5))


def test_train_validation_curves_match_an_independent_loop():
    from companion.baselines import train_validation_curves

    g = torch.Generator().manual_seed(0)
    X, Xv = torch.randn(30, 4, generator=g), torch.randn(10, 4, generator=g)
    y, yv = torch.randint(0, 3, (30,), generator=g), torch.randint(0, 3, (10,), generator=g)

    def make():
        torch.manual_seed(5)
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))

    model = make()
    curves = train_validation_curves(model, (X, y), (Xv, yv), steps=10, lr=0.05, record_every=4)
    assert curves["step"] == [4, 8, 10]

    ref = make()  # the same initial weights
    opt = torch.optim.AdamW(ref.parameters(), lr=0.05, weight_decay=0.0)
    expected = []
    for step in range(1, 11):
        ref.train()
        loss = nn.functional.cross_entropy(ref(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in (4, 8, 10):
            ref.eval()  # a version that evaluated with dropout on would not match
            with torch.no_grad():
                expected.append(nn.functional.cross_entropy(ref(Xv), yv).item())
    assert curves["val_loss"] == pytest.approx(expected, rel=1e-6)
    with torch.no_grad():
        model.eval()
        acc = (model(X).argmax(1) == y).double().mean().item()
    assert curves["train_accuracy"][-1] == pytest.approx(acc)
