"""The shared check helpers say what is wrong, not only that something is."""

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed, expect_close, expect_integer, expect_shape, passed


def test_close_values_pass(capsys):
    expect_close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9], "w")
    result = passed("ok")
    assert result and "Correct: ok" in capsys.readouterr().out


def test_messages_name_the_problem():
    with pytest.raises(CheckFailed, match="shape"):
        expect_close(torch.zeros(3), torch.zeros(2), "w")
    with pytest.raises(CheckFailed, match="sign is wrong"):
        expect_close(-2.0, 2.0, "slope")
    with pytest.raises(CheckFailed, match="factor of about 10"):
        expect_close(20.0, 2.0, "slope")
    with pytest.raises(CheckFailed, match="NaN"):
        expect_close(float("nan"), 1.0, "loss")
    with pytest.raises(CheckFailed, match="1 of 3 entries"):
        expect_close([1.0, 2.0, 3.5], [1.0, 2.0, 3.0], "w")
    with pytest.raises(CheckFailed, match="should be a number"):
        expect_close("abc", 1.0, "loss")
    with pytest.raises(CheckFailed, match=r"\(2, 2\)"):
        expect_shape(torch.zeros(2, 3), (2, 2), "W")


def test_integer_checks_report_the_difference():
    expect_integer(10, 10, "count")
    with pytest.raises(CheckFailed, match=r"12, expected 10 \(\+2\)"):
        expect_integer(12, 10, "count")
    with pytest.raises(CheckFailed, match="whole number"):
        expect_integer(10.5, 10, "count")
    with pytest.raises(CheckFailed, match="whole number"):
        expect_integer(True, 1, "count")
    with pytest.raises(CheckFailed, match="one number"):
        expect_integer([10, 10], 10, "count")


@pytest.mark.parametrize(
    "value",
    [10, np.int64(10), np.int32(10), 10.0, np.float32(10.0), torch.tensor(10), np.array(10)],
)
def test_integer_checks_accept_every_numeric_type(value):
    expect_integer(value, 10, "count")
