"""Checks for the exercises of Chapter 3 (linear and logistic regression by gradient descent)."""

from __future__ import annotations

import torch

from companion import linear
from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

SEED_X = torch.arange(1.0, 6.0, dtype=torch.float64)  # the source's toy data, x = 1..5
SEED_Y = 2.0 * SEED_X  # y = 2x: the right answer is b = 0, w = 2


def check_largest_learning_rate(eta, X: torch.Tensor) -> Passed:
    """Exercise ``ch03-largest-lr``: ``eta`` should be ``2 / lambda_max((2/n) A^T A)``."""
    if torch.is_tensor(eta):
        eta = eta.item()
    if not isinstance(eta, (int, float)) or isinstance(eta, bool):
        raise CheckFailed(f"eta should be a number, got {type(eta).__name__}")
    want = linear.max_stable_learning_rate(X.double())
    A = linear.design_matrix(X.double())
    lam_no_bias = torch.linalg.eigvalsh(2.0 / len(A) * X.double().T @ X.double())[-1].item()
    hints = [
        (
            want / 2,
            "that is 1/lambda_max, the best step for a 1-D quadratic; GD still converges "
            "up to twice that",
        ),
        (want * 2, "the Hessian of the mean squared error is (2/n) A^T A, not (1/n) A^T A"),
        (2.0 / lam_no_bias, "include the column of ones (the bias) in A"),
    ]
    for value, hint in hints:
        if abs(eta - value) <= 1e-3 * abs(value) and abs(eta - want) > 1e-3 * want:
            raise CheckFailed(f"eta = {eta:.6g}, expected {want:.6g}. Hint: {hint}")
    expect_close(
        eta,
        want,
        "the largest stable learning rate",
        rtol=1e-3,
        hint="2 divided by the largest eigenvalue of the Hessian (2/n) A^T A",
    )
    return passed(f"GD on this MSE converges for every learning rate below {want:.4g}")


def ridge_gradient_reference(X, y, w, b, lam):
    """Autograd gradient of ``mean((X w + b - y)^2) + lam * ||w||^2`` in ``(w, b)``."""
    w = w.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    loss = ((X @ w + b - y) ** 2).mean() + lam * (w @ w)
    gw, gb = torch.autograd.grad(loss, (w, b))
    return gw, gb


def check_ridge_gradient(grad_fn) -> Passed:
    """Exercise ``ch03-ridge-gradient``: ``grad_fn(X, y, w, b, lam)`` returns ``(g_w, g_b)``."""
    if not callable(grad_fn):
        raise CheckFailed(f"pass your function itself, got {type(grad_fn).__name__}")
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(20, generator=gen, dtype=torch.float64)
    w = torch.randn(3, generator=gen, dtype=torch.float64)
    b = torch.tensor(0.7, dtype=torch.float64)
    lam = 0.3
    out = grad_fn(X, y, w, b, lam)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed("your function should return a pair (gradient for w, gradient for b)")
    gw, gb = (_as_tensor(o, "gradient") for o in out)
    want_w, want_b = ridge_gradient_reference(X, y, w, b, lam)
    expect_close(
        gb.reshape(()),
        want_b,
        "the gradient for b",
        rtol=1e-6,
        hint="d/db of mean(r^2) is (2/n) sum r; the penalty does not touch b",
    )
    if gw.shape == want_w.shape:
        no_penalty = want_w - 2 * lam * w
        for value, hint in [
            (no_penalty, "the penalty lam * ||w||^2 adds 2 * lam * w to the gradient"),
            (no_penalty + lam * w, "the derivative of lam * ||w||^2 is 2 * lam * w, not lam * w"),
            (want_w / 2, "the square brings down a factor 2: (2/n) X^T r"),
        ]:
            if torch.allclose(gw, value, rtol=1e-6, atol=1e-9):
                raise CheckFailed(f"the gradient for w is not right. Hint: {hint}")
    expect_close(gw, want_w, "the gradient for w", rtol=1e-6)
    return passed("your ridge gradient matches torch.autograd")


def check_seed_rule_fixed(lr, epochs) -> Passed:
    """Exercise ``ch03-fix-seed``: the per-example rule with ``lr``, ``epochs`` reaches (0, 2)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise CheckFailed(f"epochs should be a positive int, got {epochs!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise CheckFailed(f"lr should be a positive number, got {lr!r}")
    if epochs > 10_000:
        raise CheckFailed(f"{epochs} epochs is far more than needed; use at most 10,000")
    fit = linear.seed_update_rule(SEED_X, SEED_Y, lr=float(lr), epochs=epochs)
    b, w = fit.b.item(), fit.w.item()
    if not (torch.isfinite(fit.b) and torch.isfinite(fit.w)) or abs(b) + abs(w) > 1e3:
        raise CheckFailed(
            f"with lr = {lr} the parameters blow up (b = {b:.3g}, w = {w:.3g}): "
            "the learning rate is too large for x up to 5"
        )
    err = max(abs(b - 0.0), abs(w - 2.0))
    if err > 1e-3:
        raise CheckFailed(
            f"after {epochs} epochs b = {b:.4g}, w = {w:.4g}, still {err:.2g} from "
            "(0, 2): train for more epochs or take a larger (but stable) step"
        )
    return passed(f"b = {b:.5f}, w = {w:.5f}: the rule converges to y = 2x")
