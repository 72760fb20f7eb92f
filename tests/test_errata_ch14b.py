"""Numbers stated in the Chapter 14b errata rows, recomputed with companion code."""

from __future__ import annotations

import math

import pytest

from companion import business
from companion.architectures import dqn
from companion.parameters import count_parameters
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch14b")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch14b)=\n## Chapter 14b: Trends and challenges II")


def test_row_14b_1_all_public_text(text):
    stock = 3e14  # Villalobos et al. (2024), central estimate
    n, d = business.compute_optimal(business.training_flops(stock / 20, stock), 20.0)
    assert math.isclose(d, stock)
    row = errata_row(text, "14b.1")
    assert f"{n / 1e12:.0f} trillion parameters" in row
    assert f"{business.training_flops(n, d):.1e}".replace("+", "") in row  # 2.7e28
    assert "300 trillion tokens" in row and "20 tokens per parameter" in row


def test_row_14b_7_singleton_loss(text):
    n = 64_285  # any corpus size of the chapter's order gives the same three decimals
    assert f"{(1 - 1 / n) ** n:.3f}" == f"{math.exp(-1):.3f}" == "0.368"
    assert "= 0.368" in errata_row(text, "14b.7")


def test_row_14b_8_dqn_parameters(text):
    assert f"{count_parameters(dqn(18)):,}" == "1,693,362"
    assert "1,693,362 parameters" in errata_row(text, "14b.8")


def test_every_row_cites(text):
    rows = [line for line in text.splitlines() if line.startswith("| 14b.")]
    assert len(rows) == 8
    assert all("{cite}`" in r for r in rows)
    assert [r.split("|")[1].strip() for r in rows] == [f"14b.{i}" for i in range(1, 9)]
