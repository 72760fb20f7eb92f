"""Bad input to companion.calibration: logits where probabilities are needed, rows that do not
sum to one, labels out of range, non-positive temperatures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import calibration as c
from tests.badinput.harness import expect_clear_error

rng = np.random.default_rng(0)
Z = rng.normal(size=(20, 3))
PR = torch.softmax(torch.tensor(Z), 1).numpy()
Y = rng.integers(0, 3, 20)
PB, YB = PR[:, 0], (Y == 0).astype(int)

CASES = [
    (lambda: c.expected_calibration_error(Z, Y), "probs", ValueError),  # logits, not probs
    (lambda: c.expected_calibration_error(PR * 0.9, Y), "probs", ValueError),  # rows != 1
    (lambda: c.expected_calibration_error(PR, Y + 1), "y_true", ValueError),  # label 3 of 3
    (lambda: c.expected_calibration_error(PR, Y.astype(float)), "y_true", TypeError),
    (lambda: c.expected_calibration_error(PR, Y[:5]), "y_true", ValueError),
    (lambda: c.expected_calibration_error(PB, Y), "y_true", ValueError),  # binary probs, 3 labels
    (lambda: c.expected_calibration_error(PR, Y, n_bins=0), "n_bins", ValueError),
    (lambda: c.expected_calibration_error(PR, Y, n_bins=10.0), "n_bins", TypeError),
    (lambda: c.expected_calibration_error(PR, Y, n_bins=True), "n_bins", TypeError),
    (lambda: c.expected_calibration_error((PR > 0.5).astype(int), Y), "probs", TypeError),
    (lambda: c.expected_calibration_error(np.r_[PB[:-1], np.nan], YB), "probs", ValueError),
    (lambda: c.expected_calibration_error(PR[:, :1], Y), "probs", ValueError),
    (lambda: c.expected_calibration_error(PR[None], Y), "probs", ValueError),
    (lambda: c.expected_calibration_error("0.3", Y), "probs", TypeError),
    (lambda: c.reliability_bins(PB, YB, n_bins=-3), "n_bins", ValueError),
    (lambda: c.log_loss(PR, Y, eps=0), "eps", ValueError),
    (lambda: c.log_loss(PR, Y + 5), "y_true", ValueError),
    (lambda: c.brier_score(PR, Y - 1), "y_true", ValueError),
    (lambda: c.fit_temperature(PR, Y.astype(float)), "y", TypeError),
    (lambda: c.fit_temperature(Z, Y[:4]), "y", ValueError),
    (lambda: c.fit_temperature(Z, Y + 3), "y", ValueError),
    (lambda: c.fit_temperature(Z.astype(int), Y), "logits", TypeError),
    (lambda: c.fit_temperature(np.r_[Z[:-1], [[np.nan, 0, 0]]], Y), "logits", ValueError),
    (lambda: c.fit_temperature(Z[:, :1], Y), "logits", ValueError),
    (lambda: c.fit_temperature("logits", Y), "logits", TypeError),
    (lambda: c.fit_temperature(Z, Y, max_iter=0), "max_iter", ValueError),
    (lambda: c.temperature_scale(Z, 0.0), "temperature", ValueError),
    (lambda: c.temperature_scale(Z, -1.0), "temperature", ValueError),
    (lambda: c.temperature_scale(Z, float("inf")), "temperature", ValueError),
    (lambda: c.temperature_scale(Z, "2"), "temperature", TypeError),
]


@pytest.mark.parametrize(("call", "name", "kind"), CASES)
def test_bad_input_is_a_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


@pytest.mark.parametrize(
    ("floats", "labels"),
    [
        (np.asarray, np.asarray),
        (torch.tensor, torch.tensor),
        (lambda a: a.tolist(), lambda a: a.tolist()),
        (lambda a: torch.tensor(a, dtype=torch.float32), lambda a: torch.tensor(a).int()),
    ],
)
def test_accepted_conversions_give_the_same_answer(floats, labels):
    want = c.expected_calibration_error(PR, Y)
    assert c.expected_calibration_error(floats(PR), labels(Y)) == pytest.approx(want, abs=1e-6)
    t_want = c.fit_temperature(Z, Y)
    assert c.fit_temperature(floats(Z), labels(Y)) == pytest.approx(t_want, rel=1e-4)
