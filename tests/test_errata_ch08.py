"""Numbers stated in the Chapter 8 errata rows, recomputed with companion code."""

from __future__ import annotations

import math

import pytest
import torch

from companion.schedules import make_schedule
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch08")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch08)=\n## Chapter 8: Training strategies\n")


def test_row_8_2_exponential_decay(text):
    f = make_schedule("exponential", 1.0, c=0.1)
    rates = [f(t) for t in range(12)]
    assert all(b < a for a, b in zip(rates, rates[1:], strict=False))  # monotone: no fluctuation
    assert f"{f(10):.3f}" == "0.368"
    assert "0.368" in errata_row(text, "8.2")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=math.exp(-0.1))
    for _ in range(10):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(f(10))


def test_row_8_3_inverse_time_halves(text):
    f = make_schedule("inverse_time", 1.0, beta=0.1)
    assert f(10) == pytest.approx(0.5)
    assert "halves after 10 steps" in errata_row(text, "8.3")


def test_every_row_cites(text):
    rows = [line for line in text.splitlines() if line.startswith("| 8.")]
    assert len(rows) == 7
    assert all("{cite}`" in r for r in rows)
