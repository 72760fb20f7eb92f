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
    W = torch.randn(3, 4, generator=gen, dtype=DT, requires_grad=True)  # (C, d)
    c = torch.randn(3, generator=gen, dtype=DT, requires_grad=True)
    got = L.softmax_gradient(X, labels, W.detach(), c.detach(), l2=0.1)
    want = torch.autograd.grad(L.softmax_loss(X, labels, W, c, l2=0.1), (W, c))
    for g, h in zip(got, want, strict=True):
        torch.testing.assert_close(g, h)
    torch.testing.assert_close(
        L.softmax_loss(X, labels, W, c), F.cross_entropy(F.linear(X, W, c), labels)
    )
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


def test_source_rule_diverges_and_the_fixed_rule_converges():
    x = torch.arange(1.0, 6.0, dtype=DT)
    y = 2 * x
    seed = L.source_update_rule(x, y)  # lr = 1, one pass: exactly the source's code
    assert seed.path[-1].tolist() == [2640.0, 13314.0]  # traced by hand in the chapter
    assert seed.losses[0] > 1e9
    fixed = L.source_update_rule(x, y, lr=0.05, epochs=300)
    assert abs(fixed.b.item()) < 1e-4 and abs(fixed.w.item() - 2) < 1e-4


def test_bad_shapes_and_types_raise_clear_errors():
    X, y = torch.zeros(5, 2, dtype=DT), torch.zeros(4, dtype=DT)
    with pytest.raises(ValueError, match=r"y must have shape \(n,\) with n=5"):
        L.least_squares(X, y)
    with pytest.raises(ValueError, match="X must have 2 dimensions"):
        L.fit_linear_gd(torch.zeros(5, dtype=DT), torch.zeros(5, dtype=DT), lr=0.1, steps=1)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        L.mse_loss(X, torch.zeros(5, dtype=DT), torch.zeros(3, dtype=DT), torch.zeros((), dtype=DT))
    with pytest.raises(TypeError, match="torch.Tensor"):
        L.least_squares(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(TypeError, match="dtype"):
        L.least_squares(X, torch.zeros(5, dtype=torch.float32))
    with pytest.raises(TypeError, match="y must have an integer dtype"):
        L.softmax_loss(
            X, torch.zeros(5, dtype=DT), torch.zeros(3, 2, dtype=DT), torch.zeros(3, dtype=DT)
        )
    with pytest.raises(TypeError, match="y must have an integer dtype"):
        L.softmax_cross_entropy(torch.zeros(5, 3, dtype=DT), torch.zeros(5, dtype=DT))
    with pytest.raises(ValueError, match=r"y must lie in \[0, 2\]"):
        L.fit_softmax_gd(X, torch.tensor([0, 1, 2, 3, 0]), classes=3, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="only 0 and 1"):
        L.fit_logistic_gd(X, torch.full((5,), 2.0, dtype=DT), lr=0.1, steps=1)
    with pytest.raises(ValueError, match="lr"):
        L.fit_linear_gd(X, torch.zeros(5, dtype=DT), lr=-1, steps=1)


# --- sharp tests: each carries a deliberately wrong variant that must fail ------------------


def _sgd_reference(X, y, lr, epochs, batch_size, seed, decay):
    """Minibatch SGD by torch.optim.SGD and autograd on nn.functional.mse_loss, with the
    shuffle fit_linear_sgd documents (one torch.randperm per epoch)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(X.shape[1], dtype=DT, requires_grad=True)
    b = torch.zeros((), dtype=DT, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    t = 0
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            opt.param_groups[0]["lr"] = lr / (1 + decay * t)
            opt.zero_grad()
            F.mse_loss(X[idx] @ w + b, y[idx]).backward()
            opt.step()
            t += 1
    return w.detach(), b.detach()


def _sgd_full_batch(X, y, lr, epochs, batch_size=32, generator=None, decay=0.0):
    """Wrong: takes as many steps as minibatches, but each with the full-data gradient."""
    w, b, t = torch.zeros(X.shape[1], dtype=DT), torch.zeros((), dtype=DT), 0
    for _ in range(epochs):
        torch.randperm(len(X), generator=generator)
        for _start in range(0, len(X), batch_size):
            gw, gb = L.mse_gradient(X, y, w, b)
            w, b, t = w - lr / (1 + decay * t) * gw, b - lr / (1 + decay * t) * gb, t + 1
    return L.Fit(w, b, [])


def _sgd_no_shuffle(X, y, lr, epochs, batch_size=32, generator=None, decay=0.0):
    """Wrong: minibatches in the data's own order, every epoch the same."""
    w, b, t = torch.zeros(X.shape[1], dtype=DT), torch.zeros((), dtype=DT), 0
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            gw, gb = L.mse_gradient(X[start : start + batch_size], y[start : start + batch_size],
                                    w, b)  # fmt: skip
            w, b, t = w - lr / (1 + decay * t) * gw, b - lr / (1 + decay * t) * gb, t + 1
    return L.Fit(w, b, [])


def _sgd_matches_reference(fit_fn) -> bool:
    gen = torch.Generator().manual_seed(7)
    X = torch.randn(50, 3, generator=gen, dtype=DT)
    y = X @ torch.tensor([1.0, -2.0, 0.5], dtype=DT) + 0.3 * torch.randn(50, generator=gen,
                                                                           dtype=DT)  # fmt: skip
    kw = dict(lr=0.05, epochs=3, batch_size=8, decay=0.1)
    fit = fit_fn(X, y, generator=torch.Generator().manual_seed(11), **kw)
    w, b = _sgd_reference(X, y, seed=11, **kw)
    return torch.allclose(fit.w, w, rtol=1e-10, atol=1e-12) and torch.allclose(
        fit.b, b, rtol=1e-10, atol=1e-12
    )


def test_sgd_follows_torch_optim_sgd_minibatch_by_minibatch():
    assert _sgd_matches_reference(L.fit_linear_sgd)
    assert not _sgd_matches_reference(_sgd_full_batch)
    assert not _sgd_matches_reference(_sgd_no_shuffle)


def _softmax_reference(X, y, classes, lr, steps, l2):
    """Full-batch GD with torch.optim.SGD on F.cross_entropy + (l2/2) ||W||^2 (bias free)."""
    W = torch.zeros(classes, X.shape[1], dtype=DT, requires_grad=True)
    b = torch.zeros(classes, dtype=DT, requires_grad=True)
    opt = torch.optim.SGD([W, b], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        (F.cross_entropy(F.linear(X, W, b), y) + 0.5 * l2 * (W**2).sum()).backward()
        opt.step()
    return W.detach(), b.detach()


def _softmax_matches_reference(fit_fn) -> bool:
    gen = torch.Generator().manual_seed(8)
    X = torch.randn(40, 4, generator=gen, dtype=DT)
    y = torch.randint(0, 3, (40,), generator=gen)
    fit = fit_fn(X, y, 3, lr=0.5, steps=60, l2=0.2)
    W, b = _softmax_reference(X, y, 3, lr=0.5, steps=60, l2=0.2)
    return torch.allclose(fit.w, W, rtol=1e-10, atol=1e-12) and torch.allclose(
        fit.b, b, rtol=1e-10, atol=1e-12
    )


def test_softmax_gd_follows_torch_with_the_penalty():
    assert _softmax_matches_reference(L.fit_softmax_gd)
    drop = lambda X, y, c, lr, steps, l2: L.fit_softmax_gd(X, y, c, lr, steps, l2=0.0)  # noqa: E731
    double = lambda X, y, c, lr, steps, l2: L.fit_softmax_gd(X, y, c, lr, steps, l2=2 * l2)  # noqa: E731
    assert not _softmax_matches_reference(drop)
    assert not _softmax_matches_reference(double)


def _is_the_stability_limit(rate_fn) -> bool:
    """GD converges at 0.98 x the rate and diverges at 1.02 x: the rate is the limit."""
    gen = torch.Generator().manual_seed(9)
    X = (
        torch.randn(60, 3, generator=gen, dtype=DT)
        @ torch.tensor([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]], dtype=DT)
        + 1.0
    )  # correlated, off-centre features
    y = torch.randn(60, generator=gen, dtype=DT)
    eta = rate_fn(X)
    below = L.fit_linear_gd(X, y, lr=0.98 * eta, steps=600).losses
    above = L.fit_linear_gd(X, y, lr=1.02 * eta, steps=600).losses
    return below[-1] < below[0] and above[-1] > 1e3 * above[0]


def test_max_stable_learning_rate_is_the_limit():
    assert _is_the_stability_limit(L.max_stable_learning_rate)
    assert not _is_the_stability_limit(lambda X: 2 * L.max_stable_learning_rate(X))
    assert not _is_the_stability_limit(lambda X: 0.5 * L.max_stable_learning_rate(X))
    # and the value against numpy's own eigenvalues of (2/n) A^T A
    X = torch.randn(30, 2, dtype=DT, generator=torch.Generator().manual_seed(1))
    A = np.c_[np.ones(30), X.numpy()]
    assert L.max_stable_learning_rate(X) == pytest.approx(
        2 / np.linalg.eigvalsh(2 / 30 * A.T @ A)[-1], rel=1e-12
    )


def _iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return torch.tensor(X, dtype=DT), torch.tensor(y)


def _softmax_matches_sklearn(l2_for) -> bool:
    """Coefficients at convergence equal scikit-learn's multinomial fit to 1e-5.

    scikit-learn minimises (1/2)||W||^2 + C sum_i loss_i, i.e. l2 = 1/(C n). Softmax is
    over-parametrised (adding one vector to every row of W changes no probability); the
    penalty picks the W whose rows sum to zero, so W is unique, while the unpenalised
    biases are unique only up to a common constant: we compare them centred.
    """
    X, y = _iris()
    C = 1.0
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X.numpy(), y.numpy())
    fit = L.fit_softmax_gd(X, y, 3, lr=2.0, steps=2000, l2=l2_for(C, len(X)))
    assert np.abs(fit.w.sum(0).numpy()).max() < 1e-10  # rows of W sum to zero
    b, sb = fit.b.numpy(), sk.intercept_
    return bool(
        np.abs(fit.w.numpy() - sk.coef_).max() < 1e-5
        and np.abs((b - b.mean()) - (sb - sb.mean())).max() < 1e-5
    )


def test_softmax_matches_sklearn_coefficients_at_convergence():
    assert _softmax_matches_sklearn(L.l2_from_sklearn_C)
    assert not _softmax_matches_sklearn(lambda C, n: 1.0 / C)  # forgot to divide by n
    assert not _softmax_matches_sklearn(lambda C, n: 2.0 / (C * n))  # penalty l2 ||W||^2


@pytest.mark.gpu
def test_fits_on_cuda_match_cpu():
    """CPU vs CUDA in float64: the same parameters to 1e-9 (relative)."""
    X, y = _iris()
    cpu = L.fit_softmax_gd(X, y, 3, lr=1.0, steps=100, l2=0.01)
    gpu = L.fit_softmax_gd(X.cuda(), y.cuda(), 3, lr=1.0, steps=100, l2=0.01)
    torch.testing.assert_close(gpu.w.cpu(), cpu.w, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(gpu.b.cpu(), cpu.b, rtol=1e-9, atol=1e-12)
    yr = X[:, 0].clone()
    lin_cpu = L.fit_linear_gd(X[:, 1:], yr, lr=0.1, steps=50)
    lin_gpu = L.fit_linear_gd(X[:, 1:].cuda(), yr.cuda(), lr=0.1, steps=50)
    torch.testing.assert_close(lin_gpu.w.cpu(), lin_cpu.w, rtol=1e-9, atol=1e-12)
    g = torch.Generator().manual_seed(0)
    sgd_cpu = L.fit_linear_sgd(X[:, 1:], yr, lr=0.05, epochs=2, generator=g)
    g = torch.Generator().manual_seed(0)
    sgd_gpu = L.fit_linear_sgd(X[:, 1:].cuda(), yr.cuda(), lr=0.05, epochs=2, generator=g)
    torch.testing.assert_close(sgd_gpu.w.cpu(), sgd_cpu.w, rtol=1e-9, atol=1e-12)
