"""Linear, logistic and softmax regression, fitted in closed form and by gradient descent (Ch. 3).

Everything works on torch tensors; use float64 when comparing with scikit-learn. Shapes:

* ``X``: ``(n, d)`` features, one row per example; ``y``: ``(n,)`` targets (real numbers for
  linear regression, 0/1 for logistic regression, integer class labels for softmax);
* linear and logistic models: weights ``w`` ``(d,)`` and a scalar bias ``b`` ``()``;
* softmax regression: weights ``W`` ``(d, C)`` and biases ``b`` ``(C,)``.

Every gradient here is written out by hand from the equations of Chapter 3 (the tests check
each against ``torch.autograd``). Public functions check shapes and types and raise
``ValueError``/``TypeError`` naming the expected shape, so a mistake fails at the call, not
deep inside torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# --------------------------------------------------------------------------- checks


def _check_tensor(t, name: str) -> Tensor:
    if not torch.is_tensor(t):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    return t


def check_xy(X, y, labels: bool = False) -> tuple[Tensor, Tensor]:
    """Check ``X`` is a floating ``(n, d)`` tensor and ``y`` an ``(n,)`` tensor; return them.

    ``labels=False``: ``y`` must have ``X``'s dtype. ``labels=True``: ``y`` holds integer
    class labels (int64).
    """
    _check_tensor(X, "X")
    _check_tensor(y, "y")
    if X.ndim != 2 or y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"expected X of shape (n, d) and y of shape (n,), got X {tuple(X.shape)} and "
            f"y {tuple(y.shape)}"
        )
    if not X.is_floating_point():
        raise TypeError(f"X must be a floating-point tensor, got {X.dtype}")
    if labels:
        if y.dtype != torch.int64:
            raise TypeError(f"y must hold int64 class labels, got {y.dtype}")
    elif y.dtype != X.dtype:
        raise TypeError(f"y must have X's dtype {X.dtype}, got {y.dtype}")
    if X.shape[0] == 0:
        raise ValueError("X and y are empty (n = 0)")
    return X, y


def _check_params(X: Tensor, w, b, classes: int | None = None) -> None:
    _check_tensor(w, "w")
    _check_tensor(b, "b")
    d = X.shape[1]
    want_w, want_b = ((d,), ()) if classes is None else ((d, classes), (classes,))
    if tuple(w.shape) != want_w or tuple(b.shape) != want_b:
        raise ValueError(
            f"for X of shape {tuple(X.shape)} expected w of shape {want_w} and b of shape "
            f"{want_b}, got w {tuple(w.shape)} and b {tuple(b.shape)}"
        )


def _check_positive(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass
class Fit:
    """Result of a fit: parameters, loss history, and (optionally) the parameter path.

    ``path`` is ``(steps + 1, 1 + d)`` with rows ``[b, w_1, ..., w_d]``: the start and the
    parameters after every update (linear and logistic fits; used for contour figures).
    """

    w: Tensor
    b: Tensor
    losses: list[float]
    path: Tensor | None = None


# ---------------------------------------------------------------- linear regression


def design_matrix(X: Tensor) -> Tensor:
    """``[1, X]``: a column of ones (for the bias) before the features. ``(n, d) -> (n, d+1)``."""
    _check_tensor(X, "X")
    if X.ndim != 2:
        raise ValueError(f"expected X of shape (n, d), got {tuple(X.shape)}")
    return torch.cat([torch.ones(len(X), 1, dtype=X.dtype, device=X.device), X], dim=1)


def least_squares(X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Minimise the squared error in closed form (eq. ``ch03-lstsq``); return ``(w, b)``.

    Solves ``min_theta ||A theta - y||^2`` with ``A = [1, X]`` by ``torch.linalg.lstsq``
    (a QR / SVD-based solver), which never forms ``A^T A``.
    """
    X, y = check_xy(X, y)
    theta = torch.linalg.lstsq(design_matrix(X), y[:, None]).solution[:, 0]  # (d+1,)
    return theta[1:], theta[0]


def normal_equations(X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Solve the normal equations ``A^T A theta = A^T y`` (eq. ``ch03-normal``); return ``(w, b)``.

    Same minimiser as :func:`least_squares` when ``A`` has full column rank, but forming
    ``A^T A`` squares the condition number, so it loses twice as many digits.
    """
    X, y = check_xy(X, y)
    A = design_matrix(X)
    theta = torch.linalg.solve(A.T @ A, A.T @ y)
    return theta[1:], theta[0]


def linear_predict(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """``X w + b``: ``(n, d), (d,), () -> (n,)``."""
    _check_tensor(X, "X")
    if X.ndim != 2:
        raise ValueError(f"expected X of shape (n, d), got {tuple(X.shape)}")
    _check_params(X, w, b)
    return X @ w + b


def mse_loss(X: Tensor, y: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Mean squared error ``(1/n) sum (x_i.w + b - y_i)^2`` (eq. ``ch03-mse``), a scalar."""
    X, y = check_xy(X, y)
    return ((linear_predict(X, w, b) - y) ** 2).mean()


def mse_gradient(X: Tensor, y: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Gradient of :func:`mse_loss` (eq. ``ch03-mse-grad``): ``(2/n) X^T r`` and ``(2/n) sum r``."""
    X, y = check_xy(X, y)
    r = linear_predict(X, w, b) - y  # (n,) residuals
    n = len(y)
    return 2.0 / n * (X.T @ r), 2.0 / n * r.sum()


def max_stable_learning_rate(X: Tensor) -> float:
    """Largest learning rate for which batch GD on the MSE converges: ``2 / lambda_max(H)``.

    ``H = (2/n) A^T A`` is the (constant) Hessian of the MSE in ``theta = [b, w]``.
    """
    _check_tensor(X, "X")
    A = design_matrix(X)
    H = 2.0 / len(A) * (A.T @ A)
    return 2.0 / torch.linalg.eigvalsh(H)[-1].item()


def _init(X: Tensor, w0, b0) -> tuple[Tensor, Tensor]:
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device) if w0 is None else w0.clone()
    b = torch.zeros((), dtype=X.dtype, device=X.device) if b0 is None else b0.clone()
    _check_params(X, w, b)
    return w, b


def _row(w: Tensor, b: Tensor) -> Tensor:
    return torch.cat([b.reshape(1), w])


def fit_linear_gd(
    X: Tensor, y: Tensor, lr: float, steps: int, w0=None, b0=None, record_path: bool = False
) -> Fit:
    """Batch gradient descent on the MSE (eq. ``ch03-gd``): ``theta <- theta - lr * grad``.

    ``losses[k]`` is the loss *before* step ``k`` (so ``losses[0]`` is the starting loss);
    a run that overflows keeps going and reports ``inf``/``nan`` so divergence is visible.
    """
    X, y = check_xy(X, y)
    _check_positive(lr, "lr")
    w, b = _init(X, w0, b0)
    losses, path = [], [_row(w, b)] if record_path else None
    for _ in range(int(steps)):
        losses.append(mse_loss(X, y, w, b).item())
        gw, gb = mse_gradient(X, y, w, b)
        w, b = w - lr * gw, b - lr * gb
        if record_path:
            path.append(_row(w, b))
    losses.append(mse_loss(X, y, w, b).item())
    return Fit(w, b, losses, torch.stack(path) if record_path else None)


def fit_linear_sgd(
    X: Tensor,
    y: Tensor,
    lr: float,
    epochs: int,
    batch_size: int = 32,
    generator: torch.Generator | None = None,
    decay: float = 0.0,
    record_path: bool = False,
) -> Fit:
    """Minibatch stochastic gradient descent on the MSE (eq. ``ch03-sgd``).

    Each epoch shuffles the rows and takes one step per minibatch of ``batch_size`` rows,
    using the gradient of the loss *on that minibatch*. The learning rate of step ``t`` is
    ``lr / (1 + decay * t)``; a decaying rate lets the noisy iterates settle at the minimum.
    ``losses[e]`` is the full-data loss after epoch ``e``.
    """
    X, y = check_xy(X, y)
    _check_positive(lr, "lr")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    w, b = _init(X, None, None)
    losses, path, t = [], [_row(w, b)] if record_path else None, 0
    for _ in range(int(epochs)):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            gw, gb = mse_gradient(X[idx], y[idx], w, b)
            step = lr / (1.0 + decay * t)
            w, b, t = w - step * gw, b - step * gb, t + 1
            if record_path:
                path.append(_row(w, b))
        losses.append(mse_loss(X, y, w, b).item())
    return Fit(w, b, losses, torch.stack(path) if record_path else None)


def seed_update_rule(
    x: Tensor, y: Tensor, lr: float = 1.0, epochs: int = 1, link: str = "identity"
):
    """The per-example rule of the source document 000 §4, with a learning rate and epochs added.

    For each example in order: ``e = y_i - f(b + w x_i)``, then ``b += lr * e`` and
    ``w += lr * e * x_i``; ``f`` is the identity (linear) or the sigmoid (logistic). The
    source uses ``lr = 1`` and one pass. With the identity link this is SGD with batch size 1
    on ``(1/2)(prediction - y)^2``; with the sigmoid link, SGD on the log-loss.
    ``x``, ``y``: ``(n,)``. Returns a :class:`Fit` whose ``path`` is ``(n * epochs + 1, 2)``.
    """
    _check_tensor(x, "x")
    _check_tensor(y, "y")
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"expected x and y of shape (n,), got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if link not in ("identity", "sigmoid"):
        raise ValueError(f"link must be 'identity' or 'sigmoid', got {link!r}")
    _check_positive(lr, "lr")
    f = (lambda z: z) if link == "identity" else torch.sigmoid
    b = torch.zeros((), dtype=x.dtype)
    w = torch.zeros((), dtype=x.dtype)
    path = [torch.stack([b, w])]
    for _ in range(int(epochs)):
        for xi, yi in zip(x, y, strict=True):
            e = yi - f(b + w * xi)
            b, w = b + lr * e, w + lr * e * xi
            path.append(torch.stack([b, w]))
    X = x[:, None]
    loss = mse_loss(X, y, w.reshape(1), b) if link == "identity" else None
    losses = [loss.item()] if loss is not None else []
    return Fit(w.reshape(1), b, losses, torch.stack(path))


# -------------------------------------------------------------- logistic regression


def log_sigmoid(z: Tensor) -> Tensor:
    """``log sigma(z) = -(max(-z, 0) + log(1 + exp(-|z|)))``, exact and finite for any ``z``."""
    return -(torch.clamp(-z, min=0) + torch.log1p(torch.exp(-z.abs())))


def binary_cross_entropy_with_logits(z: Tensor, y: Tensor) -> Tensor:
    """Mean log-loss of logits ``z`` for 0/1 labels ``y``, both terms (eq. ``ch03-bce-logits``).

    ``-[y log sigma(z) + (1 - y) log(1 - sigma(z))] = max(z, 0) - y z + log(1 + exp(-|z|))``.
    ``z``, ``y``: ``(n,)`` of the same dtype. Equals ``F.binary_cross_entropy_with_logits``.
    """
    _check_tensor(z, "z")
    _check_tensor(y, "y")
    if z.shape != y.shape or z.ndim != 1:
        raise ValueError(
            f"expected z and y of shape (n,), got {tuple(z.shape)} and {tuple(y.shape)}"
        )
    return (torch.clamp(z, min=0) - y * z + torch.log1p(torch.exp(-z.abs()))).mean()


def logistic_loss(X: Tensor, y: Tensor, w: Tensor, b: Tensor, l2: float = 0.0) -> Tensor:
    """Mean log-loss of ``sigma(X w + b)`` plus ``(l2 / 2) ||w||^2`` (bias not penalised)."""
    X, y = check_xy(X, y)
    return binary_cross_entropy_with_logits(linear_predict(X, w, b), y) + 0.5 * l2 * (w @ w)


def logistic_gradient(
    X: Tensor, y: Tensor, w: Tensor, b: Tensor, l2: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Gradient of :func:`logistic_loss` (eq. ``ch03-bce-grad``): ``X^T (p - y)/n + l2 w``."""
    X, y = check_xy(X, y)
    r = torch.sigmoid(linear_predict(X, w, b)) - y  # (n,) p - y
    return X.T @ r / len(y) + l2 * w, r.mean()


def l2_from_sklearn_C(C: float, n_samples: int) -> float:
    """The ``l2`` that matches scikit-learn's ``LogisticRegression(C=C)`` on ``n_samples`` rows.

    scikit-learn minimises ``(1/2)||w||^2 + C * sum_i loss_i``; dividing by ``C n`` gives
    the mean loss plus ``(1 / (2 C n)) ||w||^2``, i.e. ``l2 = 1 / (C n)``.
    """
    _check_positive(C, "C")
    return 1.0 / (C * n_samples)


def fit_logistic_gd(
    X: Tensor, y: Tensor, lr: float, steps: int, l2: float = 0.0, record_path: bool = False
) -> Fit:
    """Batch gradient descent on :func:`logistic_loss`; ``y`` holds 0.0/1.0 in ``X``'s dtype."""
    X, y = check_xy(X, y)
    _check_positive(lr, "lr")
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("y must hold only 0 and 1 for logistic regression")
    w, b = _init(X, None, None)
    losses, path = [], [_row(w, b)] if record_path else None
    for _ in range(int(steps)):
        losses.append(logistic_loss(X, y, w, b, l2).item())
        gw, gb = logistic_gradient(X, y, w, b, l2)
        w, b = w - lr * gw, b - lr * gb
        if record_path:
            path.append(_row(w, b))
    losses.append(logistic_loss(X, y, w, b, l2).item())
    return Fit(w, b, losses, torch.stack(path) if record_path else None)


# --------------------------------------------------------------- softmax regression


def log_softmax(Z: Tensor) -> Tensor:
    """``Z - logsumexp(Z)`` row by row, with the max subtracted first. ``(n, C) -> (n, C)``."""
    _check_tensor(Z, "Z")
    if Z.ndim != 2:
        raise ValueError(f"expected logits Z of shape (n, C), got {tuple(Z.shape)}")
    m = Z.max(dim=1, keepdim=True).values
    return Z - m - torch.log(torch.exp(Z - m).sum(dim=1, keepdim=True))


def softmax_probabilities(X: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """Class probabilities ``softmax(X W + b)`` (eq. ``ch03-softmax``): ``(n, C)``, rows sum to 1.

    ``X``: ``(n, d)``; ``W``: ``(d, C)``; ``b``: ``(C,)``.
    """
    _check_tensor(X, "X")
    if X.ndim != 2:
        raise ValueError(f"expected X of shape (n, d), got {tuple(X.shape)}")
    _check_tensor(W, "W")
    _check_params(X, W, b, classes=W.shape[-1] if W.ndim == 2 else -1)
    return log_softmax(X @ W + b).exp()


def _check_labels(y: Tensor, classes: int) -> None:
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1}, got {int(y.min())}..{int(y.max())}")


def softmax_loss(X: Tensor, y: Tensor, W: Tensor, b: Tensor, l2: float = 0.0) -> Tensor:
    """Mean cross-entropy ``-(1/n) sum_i log p_{i, y_i}`` plus ``(l2/2) ||W||^2``.

    Eq. ``ch03-ce``; ``y``: ``(n,)`` int64 labels. Equals ``F.cross_entropy`` when ``l2 = 0``.
    """
    X, y = check_xy(X, y, labels=True)
    _check_tensor(W, "W")
    _check_params(X, W, b, classes=W.shape[-1] if W.ndim == 2 else -1)
    _check_labels(y, W.shape[1])
    logp = log_softmax(X @ W + b)  # (n, C)
    return -logp[torch.arange(len(y)), y].mean() + 0.5 * l2 * (W * W).sum()


def softmax_gradient(
    X: Tensor, y: Tensor, W: Tensor, b: Tensor, l2: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Gradient of :func:`softmax_loss` (eq. ``ch03-ce-grad``): ``X^T (P - Y)/n + l2 W``.

    Returns ``(d, C)`` and ``(C,)``; ``Y`` is the one-hot ``(n, C)`` matrix of the labels.
    """
    X, y = check_xy(X, y, labels=True)
    _check_tensor(W, "W")
    _check_params(X, W, b, classes=W.shape[-1] if W.ndim == 2 else -1)
    _check_labels(y, W.shape[1])
    P = log_softmax(X @ W + b).exp()  # (n, C)
    P[torch.arange(len(y)), y] -= 1.0  # P - Y, Y one-hot
    return X.T @ P / len(y) + l2 * W, P.mean(dim=0)


def fit_softmax_gd(
    X: Tensor, y: Tensor, classes: int, lr: float, steps: int, l2: float = 0.0
) -> Fit:
    """Batch gradient descent on :func:`softmax_loss`; ``y``: int64 labels in ``0..classes-1``."""
    X, y = check_xy(X, y, labels=True)
    _check_positive(lr, "lr")
    W = torch.zeros(X.shape[1], classes, dtype=X.dtype, device=X.device)
    b = torch.zeros(classes, dtype=X.dtype, device=X.device)
    _check_labels(y, classes)
    losses = []
    for _ in range(int(steps)):
        losses.append(softmax_loss(X, y, W, b, l2).item())
        gW, gb = softmax_gradient(X, y, W, b, l2)
        W, b = W - lr * gW, b - lr * gb
    losses.append(softmax_loss(X, y, W, b, l2).item())
    return Fit(W, b, losses)
