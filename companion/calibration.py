"""Calibration: reliability diagrams, expected calibration error, temperature scaling.

A classifier is *calibrated* when, among the examples to which it gives probability ``p``,
a fraction ``p`` is right (Chapter 11, §11.3). Binning the predictions by confidence gives
the **reliability diagram** (accuracy against mean confidence per bin) and the **expected
calibration error** (eq. ch11-ece)

    ECE = sum_b (n_b / n) * | acc_b - conf_b |.

**Temperature scaling** (Guo et al., 2017) divides the logits by one number ``T > 0``
fitted by minimising the negative log-likelihood on *validation* data; it never changes
the arg-max, so accuracy is unchanged, and it usually removes most of the over-confidence
of a trained network.

Conventions. ``probs`` of shape ``(n,)`` are binary: the probability of class 1, compared
with the outcome ``y == 1`` (scikit-learn's ``calibration_curve``). ``probs`` of shape
``(n, C)`` are multi-class: the confidence is the largest probability and the outcome
whether its class is right ("top-label" calibration, as in Guo et al. and torchmetrics).
Bins are equal-width, ``(lo, hi]``, with 0 in the first bin (scikit-learn's edges;
torchmetrics uses ``[lo, hi)``: the two differ only for a probability exactly on an edge).

Inputs are converted from torch tensors, NumPy arrays or lists (documented, as in
:mod:`companion.metrics`); labels must be integers, probabilities floating point in
[0, 1] (rows summing to 1), logits floating point and finite. Errors follow
:mod:`companion.validation`: ``TypeError`` for a wrong kind, ``ValueError`` for a wrong
value, naming the argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from companion.metrics import _as_array, as_labels
from companion.validation import check_int, check_positive, check_positive_int, describe

__all__ = [
    "ReliabilityBins",
    "as_probabilities",
    "reliability_bins",
    "expected_calibration_error",
    "log_loss",
    "brier_score",
    "temperature_scale",
    "fit_temperature",
]


def as_probabilities(value: Any, name: str = "probs") -> np.ndarray:
    """``(n,)`` binary or ``(n, C)`` class probabilities as float64, checked: in [0, 1], finite,
    and rows summing to 1 (within 1e-4)."""
    a = _as_array(value, name)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be (n,) or (n, C) probabilities, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty: calibration needs at least one example")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be floating-point probabilities, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if a.min() < 0 or a.max() > 1:
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{a.min():.3g}, {a.max():.3g}] "
            "(logits? apply softmax or sigmoid first, or use fit_temperature on logits)"
        )
    if a.ndim == 2:
        if a.shape[1] < 2:
            raise ValueError(f"{name} must have at least 2 columns, got shape {a.shape}")
        worst = np.abs(a.sum(axis=1) - 1).max()
        if worst > 1e-4:
            raise ValueError(f"each row of {name} must sum to 1, one is off by {worst:.3g}")
    return a


def _confidence_and_outcome(probs: Any, y_true: Any):
    p = as_probabilities(probs, "probs")
    if p.ndim == 1:
        y = as_labels(y_true, "y_true", n=len(p), binary=True)
        return p, y.astype(np.float64)
    y = as_labels(y_true, "y_true", n=len(p))
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(
            f"y_true must lie in [0, {p.shape[1] - 1}] for {p.shape[1]} classes, got values in "
            f"[{y.min()}, {y.max()}]"
        )
    return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)


@dataclass(frozen=True)
class ReliabilityBins:
    """The data of a reliability diagram, one entry per bin (``n_bins`` of them).

    ``edges``: ``(n_bins + 1,)``; ``count``: examples per bin; ``confidence``: their mean
    predicted probability; ``accuracy``: the fraction of them that is right (binary: the
    fraction of positives). Both are NaN in an empty bin.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error (eq. ch11-ece) of these bins."""
        full = self.count > 0
        gaps = np.abs(self.accuracy[full] - self.confidence[full])
        return float(np.sum(self.count[full] / self.count.sum() * gaps))


def reliability_bins(probs: Any, y_true: Any, n_bins: int = 15) -> ReliabilityBins:
    """Bin the predictions by confidence into ``n_bins`` equal-width bins ``(lo, hi]``."""
    n_bins = check_positive_int(n_bins, "n_bins")
    conf, outcome = _confidence_and_outcome(probs, y_true)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], conf, side="left")  # bin b holds (edges[b], edges[b+1]]
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=outcome, minlength=n_bins) / count
    return ReliabilityBins(edges, count, confidence, accuracy)


def expected_calibration_error(probs: Any, y_true: Any, n_bins: int = 15) -> float:
    """ECE (eq. ch11-ece) with ``n_bins`` equal-width bins; 0 means perfectly calibrated bins.

    ``probs``: ``(n,)`` probabilities of class 1 with 0/1 ``y_true``, or ``(n, C)`` class
    probabilities with labels in ``[0, C)`` (top-label confidence).
    """
    return reliability_bins(probs, y_true, n_bins).ece


def log_loss(probs: Any, y_true: Any, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood in nats of the true labels (probabilities clipped to
    ``[eps, 1 - eps]`` so that one confident mistake gives a large, finite loss)."""
    p = as_probabilities(probs, "probs")
    eps = check_positive(eps, "eps")
    if p.ndim == 1:
        y = as_labels(y_true, "y_true", n=len(p), binary=True)
        picked = np.where(y == 1, p, 1 - p)
    else:
        y = as_labels(y_true, "y_true", n=len(p))
        if y.min() < 0 or y.max() >= p.shape[1]:
            raise ValueError(f"y_true must lie in [0, {p.shape[1] - 1}], got max {y.max()}")
        picked = p[np.arange(len(p)), y]
    return float(-np.mean(np.log(np.clip(picked, eps, 1 - eps))))


def brier_score(probs: Any, y_true: Any) -> float:
    """Mean squared difference between the probability of class 1 and the 0/1 outcome
    (binary ``(n,)`` probabilities), or the mean over examples of the squared distance
    between the probability vector and the one-hot label (``(n, C)``)."""
    p = as_probabilities(probs, "probs")
    if p.ndim == 1:
        y = as_labels(y_true, "y_true", n=len(p), binary=True)
        return float(np.mean((p - y) ** 2))
    y = as_labels(y_true, "y_true", n=len(p))
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"y_true must lie in [0, {p.shape[1] - 1}], got max {y.max()}")
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def _as_logits(value: Any, name: str = "logits") -> torch.Tensor:
    if torch.is_tensor(value):
        t = value.detach().cpu()
    elif isinstance(value, (np.ndarray, list, tuple)):
        t = torch.as_tensor(np.asarray(value))
    else:
        raise TypeError(f"{name} must be a tensor or NumPy array of logits, got {describe(value)}")
    if t.ndim not in (1, 2) or t.shape[0] == 0:
        raise ValueError(
            f"{name} must be (n,) binary logits or (n, C) class logits, got shape {tuple(t.shape)}"
        )
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {t.dtype}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    if t.ndim == 2 and t.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 columns, got shape {tuple(t.shape)}")
    return t.double()


def temperature_scale(logits: Any, temperature: float) -> np.ndarray:
    """Probabilities ``softmax(logits / T)`` for ``(n, C)`` logits, or ``sigmoid(logits / T)``
    (the probability of class 1) for ``(n,)`` binary logits."""
    z = _as_logits(logits)
    T = check_positive(temperature, "temperature")
    scaled = z / T
    p = torch.sigmoid(scaled) if z.ndim == 1 else torch.softmax(scaled, dim=1)
    return p.numpy()


def _nll(z: torch.Tensor, y: torch.Tensor, log_t: torch.Tensor) -> torch.Tensor:
    scaled = z / log_t.exp()
    if z.ndim == 1:
        return torch.nn.functional.binary_cross_entropy_with_logits(scaled, y.double())
    return torch.nn.functional.cross_entropy(scaled, y)


def fit_temperature(logits: Any, y: Any, max_iter: int = 100) -> float:
    """The temperature ``T > 0`` that minimises the validation negative log-likelihood of
    ``softmax(logits / T)`` (or ``sigmoid`` for ``(n,)`` binary logits), §11.3.

    It optimises ``log T`` (so ``T`` stays positive) with L-BFGS in float64, from ``T = 1``.
    Fit it on validation data, never on the test set you report. Two degenerate cases have
    no finite optimum and return an extreme value: logits that separate the validation
    classes perfectly (the loss keeps falling as ``T -> 0``) and logits no better than a
    uniform guess (``T -> infinity``); both mean the validation data cannot calibrate.
    """
    z = _as_logits(logits)
    max_iter = check_int(max_iter, "max_iter", min=1)
    if z.ndim == 1:
        labels = torch.as_tensor(as_labels(y, "y", n=len(z), binary=True))
    else:
        labels = torch.as_tensor(as_labels(y, "y", n=len(z)))
        if labels.min() < 0 or labels.max() >= z.shape[1]:
            raise ValueError(f"y must lie in [0, {z.shape[1] - 1}], got max {int(labels.max())}")
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-10, tolerance_change=1e-12)  # fmt: skip

    def closure():
        opt.zero_grad()
        loss = _nll(z, labels, log_t)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())
