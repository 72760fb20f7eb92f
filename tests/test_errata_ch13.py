"""Numbers stated in the Chapter 13 errata rows, recomputed with companion code."""

from __future__ import annotations

import pytest
from torch import nn

from companion.parameters import count_parameters
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch13")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch13)=\n## Chapter 13: Deployment and the economics of large")


def test_row_13_1_names_the_term(text):
    row = errata_row(text, "13.1")
    assert "知识产权" in row and "知识 Property" in row


def test_row_13_3_parameter_count(text):
    # The source's Keras model: Dense(512, relu) on 784 inputs, then Dense(10, softmax).
    keras_like = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    n = count_parameters(keras_like)
    assert n == 784 * 512 + 512 + 512 * 10 + 10
    row = errata_row(text, "13.3")
    assert f"{n:,}" == "407,050" and "407,050" in row
    assert 8e9 / n > 10_000 and "more than 10,000 times fewer" in row
    assert "two dense layers" in row
