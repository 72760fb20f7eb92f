"""Traditional models against a small neural network, on the same split (Chapter 2, §2.6).

:func:`compare_models` fits scikit-learn's logistic regression, decision tree and support
vector machine, and a :class:`companion.mlp.MLP` trained with :func:`companion.train.fit`,
on one train/test split, and returns a table: test accuracy, number of learned parameters
and training time (``time.perf_counter``, wall clock, so it depends on the machine).

What "number of learned parameters" means differs between model families
(:func:`learned_parameter_count`):

* logistic regression: coefficients + intercepts, ``C * d + C`` for ``C > 2`` classes
  (``d + 1`` for two classes);
* decision tree: the number of nodes. Each node stores a feature index and a threshold
  (internal nodes) or a class distribution (leaves), so a node is *not* one number and the
  count is not comparable one-to-one with the others;
* SVM (kernel SVC): support vectors x features + dual coefficients + intercepts: what the
  fitted model must store to predict. The support vectors are training rows that the
  solver *selected*, not free numbers it *tuned*; only the dual coefficients are fitted;
* neural network: weights + biases (:func:`companion.mlp.count_parameters`).

:func:`train_validation_split` and :func:`train_validation_curves` hold out a validation set
and record the training and validation curves of §2.7 (under- and over-fitting).

:func:`xor_blobs` makes the XOR problem of §2.3 (no straight line separates it) and
:func:`plot_decision_boundary` draws what a classifier learned in two dimensions.

Input policy (:mod:`companion.validation`): hyper-parameters are checked at the boundary
(positive int epochs and batch size, a finite positive learning rate, a tuple of positive
int hidden widths, a real ``bool`` for flags) and a wrong one raises a ``TypeError`` or
``ValueError`` naming it. :func:`plot_decision_boundary` converts ``X`` and ``y`` with
``np.asarray`` (it only draws); ``compare_models`` takes a :class:`companion.data.Split`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from torch import nn

from companion.data import Split
from companion.mlp import MLP, count_parameters
from companion.runtime import cpu_threads
from companion.train import accuracy, fit
from companion.validation import (
    check_bool,
    check_floating,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
    check_tensor,
    describe,
)

__all__ = [
    "PARAMETER_DEFINITIONS",
    "compare_models",
    "learned_parameter_count",
    "plot_decision_boundary",
    "train_validation_curves",
    "train_validation_split",
    "xor_blobs",
]

PARAMETER_DEFINITIONS = {
    "logistic regression": "coefficients + intercepts",
    "decision tree": "tree nodes (not comparable one-to-one)",
    "SVM (RBF kernel)": "support vectors x features + dual coefs + intercepts",
    "neural network (MLP)": "weights + biases",
}


def learned_parameter_count(model) -> int:
    """Numbers a fitted model holds, by the definitions in the module docstring."""
    fitted_attr = {LogisticRegression: "coef_", DecisionTreeClassifier: "tree_", SVC: "support_"}
    for cls, attr in fitted_attr.items():
        if isinstance(model, cls) and not hasattr(model, attr):
            raise ValueError(f"model: this {cls.__name__} is not fitted yet; call .fit(X, y) first")
    if isinstance(model, nn.Module):
        return count_parameters(model)
    if isinstance(model, LogisticRegression):
        return int(model.coef_.size + model.intercept_.size)
    if isinstance(model, DecisionTreeClassifier):
        return int(model.tree_.node_count)
    if isinstance(model, SVC):
        return int(model.support_vectors_.size + model.dual_coef_.size + model.intercept_.size)
    raise TypeError(
        "model must be a fitted LogisticRegression, DecisionTreeClassifier, SVC or nn.Module, "
        f"got {type(model).__name__}"
    )


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare_models(
    split: Split,
    *,
    hidden: Sequence[int] = (64,),
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 64,
    standardize: bool = True,
    seed: int = 0,
    device: torch.device | str | None = None,
    threads: int | None = 1,
    return_models: bool = False,
):
    """Fit four models on ``split`` and return a table with one row per model.

    ``split``: features ``(n, d)`` (images are flattened), integer labels ``(n,)``.
    ``standardize`` scales features with training statistics (all four models see the same
    inputs). The MLP has widths ``(d, *hidden, C)``, ReLU, and is trained with Adam on the
    cross-entropy loss for ``epochs`` epochs. Columns: ``model``, ``test_accuracy``,
    ``n_parameters``, ``what_is_counted``, ``train_time_s``. With ``return_models=True``
    returns ``(table, {model name: fitted model})``.

    ``threads=1`` (the default) runs every model on one CPU thread, restoring the previous
    settings afterwards: these models are so small that several threads mostly wait for each
    other, and on a busy machine they slow training down many times. ``None`` leaves the
    thread settings alone.
    """
    hidden = _check_hidden(hidden)
    epochs = check_positive_int(epochs, "epochs")
    lr = check_positive(lr, "lr")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(standardize, "standardize")
    seed = check_int(seed, "seed", min=0)
    check_bool(return_models, "return_models")
    if threads is not None:
        threads = check_positive_int(threads, "threads")
    if threads is None:
        return _compare(
            split, hidden, epochs, lr, batch_size, standardize, seed, device, return_models
        )
    with cpu_threads(threads):
        return _compare(
            split, hidden, epochs, lr, batch_size, standardize, seed, device, return_models
        )


def _check_hidden(hidden) -> tuple[int, ...]:
    """Hidden widths: a tuple or list of positive ints (empty: no hidden layer)."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(
            f"hidden must be a tuple of ints such as (64,) (the widths of the hidden layers), "
            f"got {describe(hidden)}"
        )
    return tuple(check_positive_int(h, f"hidden[{i}]") for i, h in enumerate(hidden))


def _compare(split, hidden, epochs, lr, batch_size, standardize, seed, device, return_models):
    if not isinstance(split, Split):
        raise TypeError(f"split must be a companion.data.Split, got {type(split).__name__}")
    if standardize:
        split = split.standardized()
    X_tr = split.X_train.reshape(len(split.X_train), -1).cpu()  # (n_train, d)
    X_te = split.X_test.reshape(len(split.X_test), -1).cpu()  # (n_test, d)
    y_tr, y_te = split.y_train.cpu(), split.y_test.cpu()
    n_classes = int(max(y_tr.max(), y_te.max())) + 1

    sk_models = {
        "logistic regression": LogisticRegression(max_iter=2000),
        "decision tree": DecisionTreeClassifier(random_state=seed),
        "SVM (RBF kernel)": SVC(kernel="rbf"),
    }
    rows, fitted = [], {}
    Xn_tr, Xn_te, yn_tr, yn_te = X_tr.numpy(), X_te.numpy(), y_tr.numpy(), y_te.numpy()
    for name, model in sk_models.items():
        seconds = _timed(lambda m=model: m.fit(Xn_tr, yn_tr))
        acc = float(np.mean(model.predict(Xn_te) == yn_te))
        rows.append((name, acc, learned_parameter_count(model), seconds))
        fitted[name] = model

    torch.manual_seed(seed)
    device = torch.device(device) if device is not None else torch.device("cpu")
    net = MLP((X_tr.shape[1], *hidden, n_classes)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    seconds = _timed(
        lambda: fit(
            net,
            opt,
            nn.functional.cross_entropy,
            (X_tr, y_tr),
            epochs=epochs,
            batch_size=batch_size,
            device=device,
            seed=seed,
            progress=False,
        )
    )
    net.eval()
    with torch.no_grad():
        acc = accuracy(net(X_te.to(device)), y_te.to(device))
    name = "neural network (MLP)"
    rows.append((name, acc, learned_parameter_count(net), seconds))
    fitted[name] = net

    table = pd.DataFrame(rows, columns=["model", "test_accuracy", "n_parameters", "train_time_s"])
    table.insert(3, "what_is_counted", table["model"].map(PARAMETER_DEFINITIONS))
    return (table, fitted) if return_models else table


def train_validation_split(X, y, val_fraction: float = 0.25, seed: int = 0):
    """Split a training set ``(X, y)`` into training and validation parts (Chapter 2, §2.7).

    ``X``: ``(n, ...)`` tensor, ``y``: ``(n,)`` tensor; a seeded random permutation puts
    ``int(n * val_fraction)`` rows into the validation part. Returns
    ``(X_train, y_train, X_val, y_val)``. The test set is not touched: it stays for the one
    final evaluation.
    """
    X = check_tensor(X, "X")
    y = check_tensor(y, "y", ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    val_fraction = check_real(
        val_fraction, "val_fraction", low=0.0, high=1.0, low_open=True, high_open=True
    )
    seed = check_int(seed, "seed", min=0)
    n_val = int(len(X) * val_fraction)
    if n_val < 1 or n_val >= len(X):
        raise ValueError(
            f"val_fraction={val_fraction} leaves {n_val} of {len(X)} rows for "
            "validation; both parts need at least one row"
        )
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:n_val], perm[n_val:]
    return X[train], y[train], X[val], y[val]


def train_validation_curves(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    record_every: int = 1,
) -> dict[str, list[float]]:
    """Train a classifier by full-batch AdamW and record training and validation curves.

    Every step uses the whole training set (small data sets only). After every
    ``record_every`` steps the model is evaluated in eval mode, without gradients, on both
    sets. Returns lists ``step``, ``train_loss``, ``val_loss`` (mean cross-entropy, nats),
    ``train_accuracy`` and ``val_accuracy``: the curves that show under- and over-fitting
    (Chapter 2, §2.7). ``X``: ``(n, d)`` floats of the model's dtype; ``y``: ``(n,)`` class ids.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    params = list(model.parameters())
    if not params:
        raise ValueError("model has no parameters to train")
    sets = {}
    for name, pair in (("train", train), ("val", val)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{name} must be a pair (X, y) of tensors, got {describe(pair)}")
        X = check_floating(pair[0], f"{name}[0]", like=params[0])
        y = check_tensor(pair[1], f"{name}[1]", ndim=1, dtype="index")
        if len(X) != len(y):
            raise ValueError(f"{name}: X has {len(X)} rows but y has {len(y)} labels")
        sets[name] = (X, y)
    steps = check_positive_int(steps, "steps")
    lr = check_positive(lr, "lr")
    weight_decay = check_nonnegative(weight_decay, "weight_decay")
    record_every = check_positive_int(record_every, "record_every")

    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    X_tr, y_tr = sets["train"]
    curves: dict[str, list[float]] = {
        k: [] for k in ("step", "train_loss", "val_loss", "train_accuracy", "val_accuracy")
    }
    for step in range(1, steps + 1):
        model.train()
        loss = nn.functional.cross_entropy(model(X_tr), y_tr)  # mean over the training set
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % record_every and step != steps:
            continue
        model.eval()
        curves["step"].append(step)
        with torch.no_grad():
            for name, (X, y) in sets.items():
                logits = model(X)  # (n, K)
                curves[f"{name}_loss"].append(nn.functional.cross_entropy(logits, y).item())
                curves[f"{name}_accuracy"].append((logits.argmax(1) == y).double().mean().item())
    return curves


def xor_blobs(n: int = 400, noise: float = 0.35, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: four Gaussian blobs at (+-1, +-1); label 1 where x1 * x2 < 0.

    Returns ``X`` ``(n, 2)`` float32 and ``y`` ``(n,)`` int64. No line separates the classes.
    """
    n = check_positive_int(n, "n")
    if n % 4:
        raise ValueError(f"n must be a positive multiple of 4 (four blobs), got {n}")
    noise = check_nonnegative(noise, "noise")
    seed = check_int(seed, "seed", min=0)
    rng = np.random.default_rng(seed)
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1])
    idx = np.repeat(np.arange(4), n // 4)
    X = centres[idx] + noise * rng.standard_normal((n, 2)).astype(np.float32)
    return X.astype(np.float32), labels[idx].astype(np.int64)


def plot_decision_boundary(ax, predict: Callable[[np.ndarray], np.ndarray], X, y, title=""):
    """Shade the class ``predict`` gives on a grid over ``X`` ``(n, 2)`` and scatter ``X``.

    ``predict`` maps an ``(m, 2)`` float32 array to ``(m,)`` labels.
    """
    if not callable(predict):
        raise TypeError(f"predict must be a function of an (m, 2) array, got {describe(predict)}")
    X = np.asarray(X.cpu() if torch.is_tensor(X) else X)
    y = np.asarray(y.cpu() if torch.is_tensor(y) else y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) for a plot in the plane, got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},), one label per row of X, got {y.shape}")
    lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.c_[g1.ravel(), g2.ravel()].astype(np.float32)  # (40000, 2)
    Z = np.asarray(predict(grid)).reshape(g1.shape)
    ax.contourf(g1, g2, Z, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"], alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=np.asarray(y), cmap="coolwarm", s=8, edgecolors="none")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    return ax
