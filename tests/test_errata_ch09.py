"""Numbers stated in the Chapter 9 errata rows, recomputed with companion code."""

from __future__ import annotations

import pytest

from companion.business.hardware import accelerator
from companion.memory import training_memory
from companion.scaling_laws import KAPLAN, compute_optimal_tokens_per_param
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch09")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch09)=\n## Chapter 9: Scaling up\n")


def test_row_9_1_doubling_gains_little(text):
    gain = 1 - 2 ** -KAPLAN["alpha_N"]
    assert f"{100 * gain:.1f}%" == "5.1%"
    row = errata_row(text, "9.1")
    assert "$\\alpha_N = 0.076$" in row and "5.1%" in row


def test_row_9_2_compute_optimal_split(text):
    n, d = compute_optimal_tokens_per_param(5.76e23)
    assert f"{n / 1e9:.1f}" == "69.3" and f"{d / 1e12:.2f}" == "1.39"
    row = errata_row(text, "9.2")
    assert "69.3 billion parameters and 1.39 trillion tokens" in row


def test_row_9_3_memory_of_a_7b_model(text):
    mem = training_memory(7_000_000_000, "adam", mixed_precision=True)
    assert mem.states == 16 * 7_000_000_000
    assert f"{mem.states / 1e9:.0f} GB" == "112 GB"
    assert mem.states > accelerator("H100-SXM").memory_bytes == 80e9
    row = errata_row(text, "9.3")
    assert "16 bytes per parameter, 112 GB" in row and "80 GB GPU" in row


def test_row_9_4_present(text):
    assert "mixed precision" in errata_row(text, "9.4")
