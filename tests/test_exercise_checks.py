"""The shared check helpers say what is wrong, not only that something is."""

import pytest
import torch

from companion.exercises import CheckFailed, expect_close, expect_integer, expect_shape, passed


def test_close_values_pass(capsys):
    expect_close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9], "w")
    result = passed("ok")
    assert result and "Correct: ok" in capsys.readouterr().out
    assert result._ipython_display_() is None  # nothing extra shown in a notebook


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
    with pytest.raises(CheckFailed, match="should be an int"):
        expect_integer(10.0, 10, "count")
