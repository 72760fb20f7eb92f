"""Chapter 3's regression code against scikit-learn and torch.autograd (companion.linear)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression

from companion import linear as L
from companion.data import load_breast_cancer, load_digits
from companion.exercises import CheckFailed, ch03

DT = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def diabetes():
    d = load_diabetes(scaled=False)
    X = torch.tensor(d.data, dtype=DT)
    y = torch.tensor(d.target, dtype=DT)
    return X, y


def standardize(X):
    return (X - X.mean(0)) / X.std(0)


def test_closed_form_matches_sklearn(diabetes):
    X, y = diabetes
    sk = LinearRegression().fit(X.numpy(), y.numpy())
    for solver in (L.least_squares, L.normal_equations):
        w, b = solver(X, y)
        np.testing.assert_allclose(w.numpy(), sk.coef_, rtol=1e-8, atol=1e-8)
        assert abs(b.item() - sk.intercept_) < 1e-6


def test_gd_and_sgd_reach_the_sklearn_fit(diabetes):
    X, y = diabetes
    Xs = standardize(X[:, [0, 1, 2, 3, 8]])  # well-conditioned subset (as in the chapter)
    sk = LinearRegression().fit(Xs.numpy(), y.numpy())
    lr = 0.5 * L.max_stable_learning_rate(Xs)
    gd = L.fit_linear_gd(Xs, y, lr=lr, steps=300)
    np.testing.assert_allclose(gd.w.numpy(), sk.coef_, rtol=0, atol=1e-8)
    assert abs(gd.b.item() - sk.intercept_) < 1e-8
    assert all(b <= a * (1 + 1e-12) for a, b in zip(gd.losses, gd.losses[1:], strict=False))
    gen = torch.Generator().manual_seed(0)
    sgd = L.fit_linear_sgd(Xs, y, lr=0.05, epochs=100, batch_size=32, generator=gen, decay=0.05)
    # SGD's iterates are noisy: within 0.5 (target units) of coefficients of size ~25
    np.testing.assert_allclose(sgd.w.numpy(), sk.coef_, rtol=0, atol=0.5)
    assert abs(sgd.b.item() - sk.intercept_) < 0.5
    best = L.mse_loss(Xs, y, *L.least_squares(Xs, y)).item()
    assert sgd.losses[-1] < best * (1 + 1e-4)


def test_mse_gradient_matches_autograd():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(7, 3, generator=gen, dtype=DT), torch.randn(7, generator=gen, dtype=DT)
    w = torch.randn(3, dtype=DT, generator=gen, requires_grad=True)
    b = torch.randn((), dtype=DT, generator=gen, requires_grad=True)
    gw, gb = torch.autograd.grad(L.mse_loss(X, y, w, b), (w, b))
    hw, hb = L.mse_gradient(X, y, w.detach(), b.detach())
    torch.testing.assert_close(hw, gw)
    torch.testing.assert_close(hb, gb)
    assert torch.autograd.gradcheck(lambda w, b: L.mse_loss(X, y, w, b), (w, b))


def test_bce_matches_torch_and_is_stable():
    z = torch.tensor([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 800.0], dtype=DT)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0], dtype=DT)
    torch.testing.assert_close(
        L.binary_cross_entropy_with_logits(z, y), F.binary_cross_entropy_with_logits(z, y)
    )
    torch.testing.assert_close(L.log_sigmoid(z), F.logsigmoid(z))
    assert torch.isfinite(L.binary_cross_entropy_with_logits(z, y))
    zz = torch.randn(6, dtype=DT, requires_grad=True)
    yy = torch.tensor([0.0, 1, 1, 0, 1, 0], dtype=DT)
    assert torch.autograd.gradcheck(lambda z: L.binary_cross_entropy_with_logits(z, yy), (zz,))


def test_logistic_and_softmax_gradients_match_autograd():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(9, 4, generator=gen, dtype=DT)
    y01 = (torch.rand(9, generator=gen) > 0.5).to(DT)
    w = torch.randn(4, generator=gen, dtype=DT, requires_grad=True)
    b = torch.randn((), generator=gen, dtype=DT, requires_grad=True)
    got = L.logistic_gradient(X, y01, w.detach(), b.detach(), l2=0.3)
    want = torch.autograd.grad(L.logistic_loss(X, y01, w, b, l2=0.3), (w, b))
    for g, h in zip(got, want, strict=True):
        torch.testing.assert_close(g, h)
    labels = torch.randint(0, 3, (9,), generator=gen)
    W = torch.randn(4, 3, generator=gen, dtype=DT, requires_grad=True)
    c = torch.randn(3, generator=gen, dtype=DT, requires_grad=True)
    got = L.softmax_gradient(X, labels, W.detach(), c.detach(), l2=0.1)
    want = torch.autograd.grad(L.softmax_loss(X, labels, W, c, l2=0.1), (W, c))
    for g, h in zip(got, want, strict=True):
        torch.testing.assert_close(g, h)
    torch.testing.assert_close(L.softmax_loss(X, labels, W, c), F.cross_entropy(X @ W + c, labels))
    assert torch.autograd.gradcheck(lambda W, c: L.softmax_loss(X, labels, W, c, 0.1), (W, c))


def test_logistic_matches_sklearn_on_breast_cancer():
    data = load_breast_cancer().standardized()
    X, y = data.X_train.to(DT), data.y_train.to(DT)
    C = 0.1  # the training set is linearly separable: without a penalty there is no optimum
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X.numpy(), y.numpy())
    l2 = L.l2_from_sklearn_C(C, len(X))
    A = L.design_matrix(X)
    lr = 1.0 / (torch.linalg.eigvalsh(A.T @ A / len(X))[-1].item() / 4 + l2)
    fit = L.fit_logistic_gd(X, y, lr=lr, steps=3000, l2=l2)
    np.testing.assert_allclose(fit.w.numpy(), sk.coef_[0], rtol=0, atol=1e-5)
    assert abs(fit.b.item() - sk.intercept_[0]) < 1e-5
    Xt = data.X_test.to(DT)
    ours = (Xt @ fit.w + fit.b > 0).long()
    assert torch.equal(ours, torch.as_tensor(sk.predict(Xt.numpy())).long())
    assert (ours == data.y_test).double().mean().item() > 0.95


def test_softmax_matches_sklearn_on_digits():
    data = load_digits()
    X, y = data.X_train.to(DT), data.y_train
    l2 = L.l2_from_sklearn_C(1.0, len(X))
    sk = LogisticRegression(C=1.0, max_iter=5000).fit(X.numpy(), y.numpy())
    fit = L.fit_softmax_gd(X, y, 10, lr=2.0, steps=300, l2=l2)
    P = L.softmax_probabilities(data.X_test.to(DT), fit.w, fit.b)
    torch.testing.assert_close(P.sum(1), torch.ones(len(P), dtype=DT))
    ours = (P.argmax(1) == data.y_test).double().mean().item()
    theirs = sk.score(data.X_test.numpy(), data.y_test.numpy())
    assert abs(ours - theirs) < 0.03, (ours, theirs)
    assert fit.losses[-1] < 0.5 * fit.losses[0]


def test_seed_rule_diverges_and_the_fixed_rule_converges():
    x = torch.arange(1.0, 6.0, dtype=DT)
    y = 2 * x
    seed = L.seed_update_rule(x, y)  # lr = 1, one pass: exactly the source's code
    assert seed.path[-1].tolist() == [2640.0, 13314.0]  # traced by hand in the chapter
    assert seed.losses[0] > 1e9
    fixed = L.seed_update_rule(x, y, lr=0.05, epochs=300)
    assert abs(fixed.b.item()) < 1e-4 and abs(fixed.w.item() - 2) < 1e-4


def test_bad_shapes_and_types_raise_clear_errors():
    X, y = torch.zeros(5, 2, dtype=DT), torch.zeros(4, dtype=DT)
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4,\)"):
        L.least_squares(X, y)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        L.fit_linear_gd(torch.zeros(5, dtype=DT), torch.zeros(5, dtype=DT), lr=0.1, steps=1)
    with pytest.raises(ValueError, match=r"w of shape \(2,\)"):
        L.mse_loss(X, torch.zeros(5, dtype=DT), torch.zeros(3, dtype=DT), torch.zeros((), dtype=DT))
    with pytest.raises(TypeError, match="torch.Tensor"):
        L.least_squares(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(TypeError, match="dtype"):
        L.least_squares(X, torch.zeros(5, dtype=torch.float32))
    with pytest.raises(TypeError, match="int64"):
        L.softmax_loss(
            X, torch.zeros(5, dtype=DT), torch.zeros(2, 3, dtype=DT), torch.zeros(3, dtype=DT)
        )
    with pytest.raises(ValueError, match="0..2"):
        L.fit_softmax_gd(X, torch.tensor([0, 1, 2, 3, 0]), classes=3, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="only 0 and 1"):
        L.fit_logistic_gd(X, torch.full((5,), 2.0, dtype=DT), lr=0.1, steps=1)
    with pytest.raises(ValueError, match="lr"):
        L.fit_linear_gd(X, torch.zeros(5, dtype=DT), lr=-1, steps=1)


def test_exercise_checks_accept_the_answer_and_explain_mistakes(diabetes, capsys):
    X = standardize(diabetes[0])
    eta = L.max_stable_learning_rate(X)
    assert ch03.check_largest_learning_rate(eta, X)
    with pytest.raises(CheckFailed, match="twice"):
        ch03.check_largest_learning_rate(eta / 2, X)
    with pytest.raises(CheckFailed, match=r"\(2/n\)"):
        ch03.check_largest_learning_rate(eta * 2, X)

    def right(X, y, w, b, lam):
        r = X @ w + b - y
        return 2 / len(y) * X.T @ r + 2 * lam * w, 2 / len(y) * r.sum()

    def no_penalty(X, y, w, b, lam):
        r = X @ w + b - y
        return 2 / len(y) * X.T @ r, 2 / len(y) * r.sum()

    assert ch03.check_ridge_gradient(right)
    with pytest.raises(CheckFailed, match="adds 2 \\* lam \\* w"):
        ch03.check_ridge_gradient(no_penalty)
    assert ch03.check_seed_rule_fixed(0.05, 300)
    with pytest.raises(CheckFailed, match="blow up"):
        ch03.check_seed_rule_fixed(1.0, 10)
    with pytest.raises(CheckFailed, match="more epochs"):
        ch03.check_seed_rule_fixed(0.001, 2)
    assert "Correct" in capsys.readouterr().out
