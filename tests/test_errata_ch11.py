"""Numbers stated in the Chapter 11 errata rows, recomputed with companion code."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from companion.data import load_digits
from companion.inference_stats import ab_sample_size
from companion.metrics import accuracy, f_beta, precision_recall_f1
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch11")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch11)=\n## Chapter 11: Evaluating models for decisions\n")


def test_row_11_1_harmonic_mean(text):
    y = np.array([1] * 10 + [0] * 10)
    pred = np.array([1] + [0] * 19)  # one flag, right: precision 1, recall 0.1
    P, R, F = precision_recall_f1(y, pred)
    assert (P, R) == (1.0, 0.1)
    assert f"{F:.2f}" == "0.18" == f"{f_beta(P, R):.2f}"
    assert f"{(P + R) / 2:.2f}" == "0.55"
    row = errata_row(text, "11.1")
    assert "F1 = 0.18" in row and "give 0.55" in row


def test_row_11_2_never_fire_accuracy(text):
    digits = load_digits()
    y = (digits.y_test == 8).long().numpy()
    acc = accuracy(y, np.zeros_like(y))
    row = errata_row(text, "11.2")
    assert f"{100 * acc:.1f}% accurate" in row
    assert f"{100 * y.mean():.1f}% are eights" in row


def test_row_11_3_sample_size(text):
    n = ab_sample_size(0.10, 0.11, alpha=0.05, power=0.8)
    ref = NormalIndPower().solve_power(proportion_effectsize(0.11, 0.10), alpha=0.05, power=0.8)
    assert n == int(np.ceil(ref))
    assert f"needs {n:,} users per group" in errata_row(text, "11.3")


def test_every_row_cites(text):
    rows = [line for line in text.splitlines() if line.startswith("| 11.")]
    assert len(rows) == 4
    assert all("{cite}`" in r for r in rows)
