"""Checks for the exercises of Chapter 3 (linear and logistic regression by gradient descent).

* ``ch03-ridge-rate``: implement the largest stable learning rate of *ridge* regression;
  checked on data the check draws itself, against its own eigenvalue computation (no
  helper of the chapter computes it: ``linear.max_stable_learning_rate`` has no penalty).
* ``ch03-ridge-gradient``: implement the gradient of ridge regression; checked against
  ``torch.autograd`` on private data.
* ``ch03-rescale``: predict by what factor ``2 / lambda_max`` changes when every
  standardised feature is multiplied by 10 (a number, explained in the solution).
* ``ch03-fix-source``: repair the source's per-example rule with a learning rate and epochs.
"""

from __future__ import annotations

import math
import numbers

import torch

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

SOURCE_X = torch.arange(1.0, 6.0, dtype=torch.float64)  # the source's toy data, x = 1..5
SOURCE_Y = 2.0 * SOURCE_X  # y = 2x: the right answer is b = 0, w = 2


def _as_number(value, what: str) -> float:
    """A real number from int, float, NumPy scalar or a one-element tensor/array."""
    if isinstance(value, bool):
        raise CheckFailed(f"{what} should be a number, got the bool {value!r}")
    t = _as_tensor(value, what)
    if t.numel() != 1:
        raise CheckFailed(f"{what} should be one number, got shape {tuple(t.shape)}")
    v = t.item()
    if not math.isfinite(v):
        raise CheckFailed(f"{what} is {v}; expected a finite number")
    return v


def _ridge_problem(seed: int, n: int = 40, d: int = 4) -> tuple[torch.Tensor, float]:
    """Features with very different scales (and a non-zero mean), and a penalty."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([0.5, 1.0, 3.0, 0.2], dtype=torch.float64)[:d]
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * scales + 0.7
    lam = [0.3, 2.0, 0.05][seed % 3]
    return X, lam


def _ridge_hessian(X: torch.Tensor, lam: float, penalise_bias: bool = False) -> torch.Tensor:
    """Hessian of ``mean((A theta - y)^2) + lam ||w||^2`` in ``theta = (b, w)``: (d+1, d+1)."""
    ones = torch.ones(len(X), 1, dtype=X.dtype)
    A = torch.cat([ones, X], dim=1)
    penalty = torch.ones(A.shape[1], dtype=X.dtype)
    if not penalise_bias:
        penalty[0] = 0.0
    return 2.0 / len(A) * A.T @ A + 2.0 * lam * torch.diag(penalty)


def check_ridge_learning_rate(rate_fn) -> Passed:
    """Exercise ``ch03-ridge-rate``: ``rate_fn(X, lam)`` returns ``2 / lambda_max`` of the
    Hessian of ``mean((X w + b - y)^2) + lam * ||w||^2`` (the bias is not penalised)."""
    if not callable(rate_fn):
        raise CheckFailed(f"pass your function itself, got {type(rate_fn).__name__}")
    for seed in range(3):
        X, lam = _ridge_problem(seed)
        got = _as_number(rate_fn(X.clone(), lam), "the learning rate")
        want = 2.0 / torch.linalg.eigvalsh(_ridge_hessian(X, lam))[-1].item()
        lam_x = torch.linalg.eigvalsh(2.0 / len(X) * X.T @ X + 2 * lam * torch.eye(X.shape[1]))
        slips = [
            (2.0 / torch.linalg.eigvalsh(_ridge_hessian(X, 0.0))[-1].item(),
             "the penalty lam * ||w||^2 adds 2 * lam to the Hessian's diagonal (for the weights)"),
            (2.0 / torch.linalg.eigvalsh(_ridge_hessian(X, lam / 2))[-1].item(),
             "the second derivative of lam * w^2 is 2 * lam, not lam"),
            (2.0 / torch.linalg.eigvalsh(_ridge_hessian(X, lam, True))[-1].item(),
             "the bias is not penalised: leave the (0, 0) entry of the penalty out"),
            (want / 2, "the limit is 2 / lambda_max, not 1 / lambda_max"),
            (want * 2, "the Hessian of the mean squared error is (2/n) A^T A, not (1/n) A^T A"),
            (2.0 / lam_x[-1].item(), "include the column of ones (the bias) in A"),
        ]  # fmt: skip
        if not math.isclose(got, want, rel_tol=1e-6):
            for value, hint in slips:
                if math.isclose(got, value, rel_tol=1e-6):
                    raise CheckFailed(f"your rate is {got:.6g}, expected {want:.6g}. Hint: {hint}")
        hint = "2 / the largest eigenvalue of (2/n) A^T A + 2 lam diag(0, 1, ..., 1)"
        expect_close(got, want, "the largest stable learning rate", rtol=1e-6, hint=hint)
    return passed("your rate is 2 / lambda_max of the ridge Hessian on three test problems")


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
    if gb.numel() != 1:
        raise CheckFailed(f"the gradient for b should be one number, got shape {tuple(gb.shape)}")
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
            (no_penalty / 2 + 2 * lam * w, "the square brings down a factor 2: (2/n) X^T r"),
        ]:
            if torch.allclose(gw, value, rtol=1e-6, atol=1e-9):
                raise CheckFailed(f"the gradient for w is not right. Hint: {hint}")
    expect_close(gw, want_w, "the gradient for w", rtol=1e-6)
    return passed("your ridge gradient matches torch.autograd")


RESCALE_FACTOR = 0.01  # 10x features: the Hessian's feature block grows 100x


def check_rescale_prediction(factor) -> Passed:
    """Exercise ``ch03-rescale``: the factor by which ``2 / lambda_max`` changes when every
    standardised feature (not the column of ones) is multiplied by 10."""
    got = _as_number(factor, "the factor")
    slips = [
        (0.1, "the Hessian (2/n) A^T A is quadratic in the features: 10x features, 100x "
              "curvature"),
        (100.0, "a larger curvature means a *smaller* safe step: the factor is below 1"),
        (10.0, "a larger curvature means a *smaller* safe step, and it grows quadratically"),
        (1.0, "the bias direction keeps eigenvalue 2, but the largest eigenvalue belongs to "
              "the features"),
    ]  # fmt: skip
    for value, hint in slips:
        if math.isclose(got, value, rel_tol=1e-3):
            raise CheckFailed(f"the factor is not {got:g}. Hint: {hint}")
    hint = "lambda_max of (2/n) A^T A scales with the square of the features"
    expect_close(got, RESCALE_FACTOR, "the factor", rtol=1e-3, hint=hint)
    return passed("the safe learning rate shrinks 100-fold: curvature is quadratic in the scale")


def check_source_rule_fixed(lr, epochs) -> Passed:
    """Exercise ``ch03-fix-source``: the per-example rule with ``lr``, ``epochs`` reaches (0, 2)."""
    lr = _as_number(lr, "lr")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise CheckFailed(f"epochs should be a positive int, got {epochs!r}")
    if not lr > 0:
        raise CheckFailed(f"lr should be a positive number, got {lr!r}")
    if epochs > 10_000:
        raise CheckFailed(f"{epochs} epochs is far more than needed; use at most 10,000")
    # the rule, written out here (not linear.source_update_rule), b first then w
    b = w = 0.0
    for _ in range(int(epochs)):
        for xi, yi in zip(SOURCE_X.tolist(), SOURCE_Y.tolist(), strict=True):
            e = yi - (b + w * xi)
            b, w = b + lr * e, w + lr * e * xi
            if not (math.isfinite(b) and math.isfinite(w)) or abs(b) + abs(w) > 1e12:
                break
    if not (math.isfinite(b) and math.isfinite(w)) or abs(b) + abs(w) > 1e3:
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


__all__ = [
    "RESCALE_FACTOR",
    "SOURCE_X",
    "SOURCE_Y",
    "check_rescale_prediction",
    "check_ridge_gradient",
    "check_ridge_learning_rate",
    "check_source_rule_fixed",
    "ridge_gradient_reference",
]
