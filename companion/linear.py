"""Linear, logistic and softmax regression, fitted in closed form and by gradient descent (Ch. 3).

Shapes (``n`` examples, ``d`` features, ``K`` classes):

* ``X``: ``(n, d)`` features, one row per example; ``y``: ``(n,)`` targets (real numbers for
  linear regression, 0/1 in ``X``'s dtype for logistic regression, integer class labels in
  ``0..K-1`` for softmax regression);
* linear and logistic models: weights ``w`` ``(d,)`` and a scalar bias ``b`` ``()``;
* softmax regression: weights ``W`` ``(K, d)`` and biases ``b`` ``(K,)``, logits
  ``Z = X W^T + b`` ``(n, K)``. This is the layout of ``torch.nn.Linear`` (out x in) and of
  scikit-learn's ``coef_``, and the one Chapter 4 uses for every layer: one convention in
  the whole book.

:func:`softmax_cross_entropy` is the book's one implementation of the log-softmax /
cross-entropy pair and of its gradient ``(P - Y)/n`` with respect to the logits
(eq. ``ch03-ce-logit-grad``); Chapter 4's hand-written MLP uses it for its output layer.

Every gradient here is written out by hand from the equations of Chapter 3 (the tests check
each against ``torch.autograd``, and the fits against scikit-learn).

Input policy (see :mod:`companion.validation`): tensors are not converted (a NumPy array or
a list raises ``TypeError`` saying how to convert); data must be floating point and ``y``
must have ``X``'s dtype (nothing is cast); labels are integer tensors; a wrong kind or dtype
is a ``TypeError``, a wrong shape or value (NaN learning rate, negative penalty, labels out
of range) a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from companion.validation import (
    check_choice,
    check_index_tensor,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_tensor,
)

__all__ = [
    "Fit",
    "binary_cross_entropy_with_logits",
    "check_xy",
    "design_matrix",
    "fit_linear_gd",
    "fit_linear_sgd",
    "fit_logistic_gd",
    "fit_softmax_gd",
    "l2_from_sklearn_C",
    "least_squares",
    "linear_predict",
    "log_sigmoid",
    "log_softmax",
    "logistic_gradient",
    "logistic_loss",
    "max_stable_learning_rate",
    "mse_gradient",
    "mse_loss",
    "normal_equations",
    "softmax_cross_entropy",
    "softmax_gradient",
    "softmax_loss",
    "softmax_probabilities",
    "source_update_rule",
]

# --------------------------------------------------------------------------- checks


def check_xy(X, y, labels: bool = False) -> tuple[Tensor, Tensor]:
    """Check ``X`` is a floating ``(n, d)`` tensor with ``n >= 1`` and ``y`` an ``(n,)``
    tensor; return them. ``labels=False``: ``y`` must have ``X``'s dtype. ``labels=True``:
    ``y`` holds integer class labels (range checked by the caller, who knows ``K``)."""
    X = check_tensor(X, "X", ndim=2, dtype="float")
    sizes = {"n": X.shape[0]}
    check_tensor(y, "y", ndim=1, shape=("n",), sizes=sizes)
    if X.shape[0] == 0:
        raise ValueError("X and y are empty (n = 0): there is nothing to fit")
    if labels:
        check_index_tensor(y, "y", check_range=False)
    elif y.dtype != X.dtype:
        raise TypeError(f"y must have X's dtype {X.dtype}, got {y.dtype}")
    if y.device != X.device:
        raise ValueError(f"X is on {X.device} but y is on {y.device}; move both to one device")
    return X, y


def _check_X(X) -> Tensor:
    return check_tensor(X, "X", ndim=2, dtype="float")


def _check_params(X: Tensor, w, b, classes: int | None = None) -> None:
    """Linear models: ``w`` (d,), ``b`` (); softmax: ``W`` (K, d), ``b`` (K,); X's dtype."""
    d = X.shape[1]
    wname = "w" if classes is None else "W"
    if classes is None:
        check_tensor(w, wname, shape=(d,))
        check_tensor(b, "b", shape=())
    else:
        check_tensor(w, wname)
        if w.ndim != 2 or w.shape[1] != d:
            raise ValueError(
                f"W must have shape (classes, {d}): one row of {d} weights per class, the "
                f"layout of nn.Linear (out x in); got {tuple(w.shape)}"
                + (" (transpose it: W.T)" if w.ndim == 2 and w.shape[0] == d else "")
            )
        check_tensor(b, "b", shape=(w.shape[0],))
    for name, t in ((wname, w), ("b", b)):
        if t.dtype != X.dtype:
            raise TypeError(f"{name} must have X's dtype {X.dtype}, got {t.dtype}")


def _check_binary(y: Tensor) -> None:
    if not bool(((y == 0) | (y == 1)).all()):
        bad = y[(y != 0) & (y != 1)][:3].tolist()
        raise ValueError(f"y must hold only 0 and 1 for logistic regression, got e.g. {bad}")


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
    X = _check_X(X)
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
    X = _check_X(X)
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

    ``H = (2/n) A^T A`` is the (constant) Hessian of the MSE in ``theta = [b, w]``
    (eq. ``ch03-lr-bound``).
    """
    A = design_matrix(X)
    H = 2.0 / len(A) * (A.T @ A)
    return 2.0 / torch.linalg.eigvalsh(H)[-1].item()


def _init(X: Tensor, w0, b0) -> tuple[Tensor, Tensor]:
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device) if w0 is None else w0
    b = torch.zeros((), dtype=X.dtype, device=X.device) if b0 is None else b0
    if w0 is not None:
        check_tensor(w0, "w0", shape=(X.shape[1],), dtype=(X.dtype,))
    if b0 is not None:
        check_tensor(b0, "b0", shape=(), dtype=(X.dtype,))
    _check_params(X, w, b)
    return w.clone(), b.clone()


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
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps")
    w, b = _init(X, w0, b0)
    losses, path = [], [_row(w, b)] if record_path else None
    for _ in range(steps):
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

    Each epoch draws a new permutation of the rows (``torch.randperm(n, generator=...)``)
    and takes one step per minibatch of ``batch_size`` consecutive rows of it, using the
    gradient of the loss *on that minibatch*; the last minibatch may be smaller. The
    learning rate of step ``t`` (counted from 0) is ``lr / (1 + decay * t)``.
    ``losses[e]`` is the full-data loss after epoch ``e``.
    """
    X, y = check_xy(X, y)
    lr = check_positive(lr, "lr")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    decay = check_nonnegative(decay, "decay")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator)}")
    w, b = _init(X, None, None)
    losses, path, t = [], [_row(w, b)] if record_path else None, 0
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            gw, gb = mse_gradient(X[idx], y[idx], w, b)
            step = lr / (1.0 + decay * t)
            w, b, t = w - step * gw, b - step * gb, t + 1
            if record_path:
                path.append(_row(w, b))
        losses.append(mse_loss(X, y, w, b).item())
    return Fit(w, b, losses, torch.stack(path) if record_path else None)


def source_update_rule(
    x: Tensor, y: Tensor, lr: float = 1.0, epochs: int = 1, link: str = "identity"
):
    """The per-example rule of the source document 000 §4, with a learning rate and epochs added.

    For each example in order: ``e = y_i - f(b + w x_i)``, then ``b += lr * e`` and
    ``w += lr * e * x_i``; ``f`` is the identity (linear) or the sigmoid (logistic). The
    source uses ``lr = 1`` and one pass. With the identity link this is SGD with batch size 1
    on ``(1/2)(prediction - y)^2``; with the sigmoid link, SGD on the log-loss.
    ``x``, ``y``: ``(n,)`` floating, same dtype (``y`` 0/1 for the sigmoid link). The loop
    runs in Python floats (double precision); the result is in ``x``'s dtype. Returns a
    :class:`Fit` whose ``path`` is ``(n * epochs + 1, 2)`` with rows ``(b, w)``.
    """
    x = check_tensor(x, "x", ndim=1, dtype="float")
    check_tensor(y, "y", shape=tuple(x.shape))
    if y.dtype != x.dtype:
        raise TypeError(f"y must have x's dtype {x.dtype}, got {y.dtype}")
    link = check_choice(link, "link", ("identity", "sigmoid"))
    lr = check_positive(lr, "lr")
    epochs = check_positive_int(epochs, "epochs")
    if link == "sigmoid":
        _check_binary(y)
    # A scalar loop: plain Python floats (double precision) are ~10x faster than 0-d tensors.
    f = (lambda z: z) if link == "identity" else _sigmoid_float
    b = w = 0.0
    path = [(b, w)]
    xs, ys = x.tolist(), y.tolist()
    for _ in range(epochs):
        for xi, yi in zip(xs, ys, strict=True):
            e = yi - f(b + w * xi)
            b, w = b + lr * e, w + lr * e * xi
            path.append((b, w))
    path_t = torch.tensor(path, dtype=x.dtype, device=x.device)  # (n * epochs + 1, 2)
    b, w = path_t[-1, 0], path_t[-1, 1]
    X = x[:, None]
    loss = mse_loss(X, y, w.reshape(1), b) if link == "identity" else None
    losses = [loss.item()] if loss is not None else []
    return Fit(w.reshape(1), b, losses, path_t)


def _sigmoid_float(z: float) -> float:
    """The logistic function of a Python float, without overflow for large ``|z|``."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# -------------------------------------------------------------- logistic regression


def log_sigmoid(z: Tensor) -> Tensor:
    """``log sigma(z) = -(max(-z, 0) + log(1 + exp(-|z|)))``, exact and finite for any ``z``."""
    z = check_tensor(z, "z", dtype="float")
    return -(torch.clamp(-z, min=0) + torch.log1p(torch.exp(-z.abs())))


def binary_cross_entropy_with_logits(z: Tensor, y: Tensor) -> Tensor:
    """Mean log-loss of logits ``z`` for 0/1 labels ``y``, both terms (eq. ``ch03-bce-logits``).

    ``-[y log sigma(z) + (1 - y) log(1 - sigma(z))] = max(z, 0) - y z + log(1 + exp(-|z|))``.
    ``z``, ``y``: ``(n,)`` of the same floating dtype, ``y`` in {0, 1}. Equals
    ``F.binary_cross_entropy_with_logits``.
    """
    z = check_tensor(z, "z", ndim=1, dtype="float")
    check_tensor(y, "y", shape=tuple(z.shape))
    if y.dtype != z.dtype:
        raise TypeError(f"y must have z's dtype {z.dtype}, got {y.dtype} (use y.to(z.dtype))")
    _check_binary(y)
    return (torch.clamp(z, min=0) - y * z + torch.log1p(torch.exp(-z.abs()))).mean()


def logistic_loss(X: Tensor, y: Tensor, w: Tensor, b: Tensor, l2: float = 0.0) -> Tensor:
    """Mean log-loss of ``sigma(X w + b)`` plus ``(l2 / 2) ||w||^2`` (bias not penalised),
    eq. ``ch03-bce-penalised``."""
    X, y = check_xy(X, y)
    l2 = check_nonnegative(l2, "l2")
    return binary_cross_entropy_with_logits(linear_predict(X, w, b), y) + 0.5 * l2 * (w @ w)


def logistic_gradient(
    X: Tensor, y: Tensor, w: Tensor, b: Tensor, l2: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Gradient of :func:`logistic_loss` (eq. ``ch03-bce-grad``): ``X^T (p - y)/n + l2 w``."""
    X, y = check_xy(X, y)
    l2 = check_nonnegative(l2, "l2")
    _check_binary(y)
    r = torch.sigmoid(linear_predict(X, w, b)) - y  # (n,) p - y
    return X.T @ r / len(y) + l2 * w, r.mean()


def l2_from_sklearn_C(C: float, n_samples: int) -> float:
    """The ``l2`` that matches scikit-learn's ``LogisticRegression(C=C)`` on ``n_samples`` rows.

    scikit-learn minimises ``(1/2)||w||^2 + C * sum_i loss_i``; dividing by ``C n`` gives
    the mean loss plus ``(1 / (2 C n)) ||w||^2``, i.e. ``l2 = 1 / (C n)``.
    """
    C = check_positive(C, "C")
    n_samples = check_positive_int(n_samples, "n_samples")
    return 1.0 / (C * n_samples)


def fit_logistic_gd(
    X: Tensor, y: Tensor, lr: float, steps: int, l2: float = 0.0, record_path: bool = False
) -> Fit:
    """Batch gradient descent on :func:`logistic_loss`; ``y`` holds 0.0/1.0 in ``X``'s dtype."""
    X, y = check_xy(X, y)
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps")
    l2 = check_nonnegative(l2, "l2")
    _check_binary(y)
    w, b = _init(X, None, None)
    losses, path = [], [_row(w, b)] if record_path else None
    for _ in range(steps):
        losses.append(logistic_loss(X, y, w, b, l2).item())
        gw, gb = logistic_gradient(X, y, w, b, l2)
        w, b = w - lr * gw, b - lr * gb
        if record_path:
            path.append(_row(w, b))
    losses.append(logistic_loss(X, y, w, b, l2).item())
    return Fit(w, b, losses, torch.stack(path) if record_path else None)


# --------------------------------------------------------------- softmax regression


def log_softmax(Z: Tensor) -> Tensor:
    """``Z - logsumexp(Z)`` row by row, with the max subtracted first. ``(n, K) -> (n, K)``."""
    Z = check_tensor(Z, "Z", ndim=2, dtype="float")
    m = Z.max(dim=1, keepdim=True).values
    return Z - m - torch.log(torch.exp(Z - m).sum(dim=1, keepdim=True))


def softmax_cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of ``logits`` ``(n, K)`` against labels ``y`` ``(n,)``, and its
    gradient with respect to the logits, ``(softmax(Z) - onehot(y)) / n`` ``(n, K)``
    (eqs. ``ch03-ce`` and ``ch03-ce-logit-grad``; Chapter 4 calls it ``Delta_L``).

    The book's one implementation of the pair; equals ``F.cross_entropy`` and its gradient.
    ``y`` is an integer tensor with values in ``0..K-1``.
    """
    logits = check_tensor(logits, "logits", ndim=2, dtype="float")
    n, K = logits.shape
    check_index_tensor(y, "y", K, shape=(n,))
    if n == 0:
        raise ValueError("logits and y are empty (n = 0)")
    log_p = log_softmax(logits)  # (n, K), stable
    rows = torch.arange(n, device=logits.device)
    loss = -log_p[rows, y].mean()
    grad = log_p.exp()
    grad[rows, y] -= 1.0  # P - Y with Y one-hot
    return loss, grad / n


def softmax_probabilities(X: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """Class probabilities ``softmax(X W^T + b)`` (eq. ``ch03-softmax``): ``(n, K)``, rows
    sum to 1. ``X``: ``(n, d)``; ``W``: ``(K, d)``; ``b``: ``(K,)``."""
    X = _check_X(X)
    _check_params(X, W, b, classes=-1)
    return log_softmax(X @ W.T + b).exp()


def _softmax_args(X, y, W, b, l2) -> tuple[Tensor, Tensor, float]:
    X, y = check_xy(X, y, labels=True)
    _check_params(X, W, b, classes=-1)
    check_index_tensor(y, "y", W.shape[0])
    return X, y, check_nonnegative(l2, "l2")


def softmax_loss(X: Tensor, y: Tensor, W: Tensor, b: Tensor, l2: float = 0.0) -> Tensor:
    """Mean cross-entropy ``-(1/n) sum_i log p_{i, y_i}`` plus ``(l2/2) ||W||_F^2``
    (eq. ``ch03-ce-penalised``; the biases are not penalised). ``y``: ``(n,)`` integer
    labels. Equals ``F.cross_entropy(X @ W.T + b, y)`` when ``l2 = 0``."""
    X, y, l2 = _softmax_args(X, y, W, b, l2)
    loss, _ = softmax_cross_entropy(X @ W.T + b, y)
    return loss + 0.5 * l2 * (W * W).sum()


def softmax_gradient(
    X: Tensor, y: Tensor, W: Tensor, b: Tensor, l2: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Gradient of :func:`softmax_loss` (eq. ``ch03-ce-grad``): ``(P - Y)^T X / n + l2 W``.

    Returns ``(K, d)`` and ``(K,)``; ``Y`` is the one-hot ``(n, K)`` matrix of the labels.
    """
    X, y, l2 = _softmax_args(X, y, W, b, l2)
    _, G = softmax_cross_entropy(X @ W.T + b, y)  # (n, K) = (P - Y) / n
    return G.T @ X + l2 * W, G.sum(dim=0)


def fit_softmax_gd(
    X: Tensor, y: Tensor, classes: int, lr: float, steps: int, l2: float = 0.0
) -> Fit:
    """Batch gradient descent on :func:`softmax_loss` from ``W = 0, b = 0``; ``y``: integer
    labels in ``0..classes-1``. The result's ``w`` is ``W`` ``(classes, d)``."""
    X, y = check_xy(X, y, labels=True)
    classes = check_int(classes, "classes", min=2)
    check_index_tensor(y, "y", classes)
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps")
    l2 = check_nonnegative(l2, "l2")
    W = torch.zeros(classes, X.shape[1], dtype=X.dtype, device=X.device)
    b = torch.zeros(classes, dtype=X.dtype, device=X.device)
    losses = []
    for _ in range(steps):
        Z = X @ W.T + b  # (n, K)
        loss, G = softmax_cross_entropy(Z, y)
        losses.append((loss + 0.5 * l2 * (W * W).sum()).item())
        W, b = W - lr * (G.T @ X + l2 * W), b - lr * G.sum(dim=0)
    losses.append(softmax_loss(X, y, W, b, l2).item())
    return Fit(W, b, losses)
