"""Bad input to companion.metrics: swapped arguments, float labels, integer scores, NaN,
mismatched lengths, one class; accepted conversions (lists, tensors, bools) give
scikit-learn's answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from companion import metrics as m
from tests.badinput.harness import expect_clear_error

Y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
S = np.array([0.1, 0.9, 0.4, 0.35, 0.8, 0.2, 0.6, 0.7])
P = (S >= 0.5).astype(int)

CASES = [
    (lambda: m.roc_auc(S, Y), "y_true", TypeError),  # arguments swapped
    (lambda: m.roc_auc(Y, P), "scores", TypeError),  # hard predictions as scores
    (lambda: m.roc_auc(Y.astype(float), S), "y_true", TypeError),
    (lambda: m.roc_auc(Y, np.r_[S[:-1], np.nan]), "scores", ValueError),
    (lambda: m.roc_auc(Y, np.r_[S[:-1], np.inf]), "scores", ValueError),
    (lambda: m.roc_auc(Y, S[:-1]), "scores", ValueError),
    (lambda: m.roc_auc(Y, np.stack([1 - S, S], 1)), "scores", ValueError),  # (n, 2) probs
    (lambda: m.roc_auc(Y * 2, S), "y_true", ValueError),  # labels {0, 2}
    (lambda: m.roc_auc(np.ones(8, int), S), "y_true", ValueError),  # one class
    (lambda: m.roc_auc(Y, S, pos_label=2), "pos_label", ValueError),
    (lambda: m.roc_auc(Y, S, pos_label=True), "pos_label", TypeError),
    (lambda: m.roc_auc("01101001", S), "y_true", TypeError),
    (lambda: m.roc_auc(Y.reshape(2, 4), S.reshape(2, 4)), "y_true", ValueError),
    (lambda: m.roc_curve(np.array([], dtype=int), np.array([])), "y_true", ValueError),
    (lambda: m.roc_curve(Y, torch.tensor(S).half().int()), "scores", TypeError),
    (lambda: m.average_precision(np.zeros(8, int), S), "y_true", ValueError),
    (lambda: m.precision_recall_curve(Y, [0.1] * 7), "scores", ValueError),
    (lambda: m.precision_recall_curve(Y, ["a"] * 8), "scores", TypeError),
    (lambda: m.precision_recall_f1(Y, S), "y_pred", TypeError),  # probabilities as y_pred
    (lambda: m.precision_recall_f1(Y, P, average="weighted"), "average", ValueError),
    (lambda: m.precision_recall_f1(Y, P, average=1), "average", TypeError),
    (lambda: m.precision_recall_f1(Y + 1, P), "y_true", ValueError),  # 1/2 labels, binary
    (lambda: m.precision_recall_f1(Y, P, zero_division="warn"), "zero_division", TypeError),
    (lambda: m.precision_recall_f1(Y, P, zero_division=0.5), "zero_division", ValueError),
    (lambda: m.precision_recall_f1(Y, P[:5]), "y_pred", ValueError),
    (lambda: m.accuracy(Y, torch.tensor(S)), "y_pred", TypeError),
    (lambda: m.accuracy({"a": 1}, P), "y_true", TypeError),
    (lambda: m.confusion_matrix(Y, P, labels=[0]), "labels", ValueError),
    (lambda: m.confusion_matrix(Y, P, labels=[0, 1, 1]), "labels", ValueError),
    (lambda: m.confusion_matrix(Y, P, labels="01"), "labels", TypeError),
    (lambda: m.confusion_matrix(Y, P, labels=[0.0, 1.0]), "labels", TypeError),
    (lambda: m.f_beta(1.2, 0.5), "precision", ValueError),
    (lambda: m.f_beta(0.5, float("nan")), "recall", ValueError),
    (lambda: m.f_beta(0.5, 0.5, beta=0), "beta", ValueError),
    (lambda: m.f_beta(0.5, 0.5, beta=-1), "beta", ValueError),
    (lambda: m.f_beta("0.5", 0.5), "precision", TypeError),
]


@pytest.mark.parametrize(("call", "name", "kind"), CASES)
def test_bad_input_is_a_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


@pytest.mark.parametrize(
    ("y", "s"),
    [
        (Y.tolist(), S.tolist()),
        (torch.tensor(Y), torch.tensor(S, dtype=torch.float32)),
        (torch.tensor(Y, dtype=torch.bool), torch.tensor(S)),
        (Y.astype(np.int8), S.astype(np.float16)),
        (Y.astype(bool), S),
    ],
)
def test_accepted_conversions_give_sklearns_answer(y, s):
    assert m.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(Y, S), rel=1e-3)
    assert m.average_precision(y, s) == pytest.approx(skm.average_precision_score(Y, S), rel=1e-3)


@pytest.mark.gpu
def test_cuda_tensors_give_the_cpu_answer():
    """A CUDA tensor is read back to the CPU, not refused; the result is identical."""
    y, s = torch.tensor(Y, device="cuda"), torch.tensor(S, device="cuda")
    assert m.roc_auc(y, s) == m.roc_auc(Y, S)
    assert m.accuracy(y, torch.tensor(P, device="cuda")) == m.accuracy(Y, P)
