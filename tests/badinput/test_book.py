"""Plausible mistakes with companion.book.glue: names the {glue:text} role cannot parse."""

import numpy as np
import pytest

from companion import book
from tests.badinput.harness import expect_clear_error

CASES = [
    ("name", lambda: book.glue("test accuracy", 0.9)),
    ("name", lambda: book.glue("acc.test", 0.9)),
    ("name", lambda: book.glue("", 0.9)),
    ("name", lambda: book.glue("准确率", 0.9)),
    ("name", lambda: book.glue(3, 0.9)),
    ("name", lambda: book.glue(None, 0.9)),
    ("display", lambda: book.glue("acc", 0.9, display="yes")),
]


@pytest.mark.parametrize(("name", "call"), CASES)
def test_glue_refuses(name, call, monkeypatch):
    monkeypatch.setattr(book, "_myst_glue", lambda *a, **k: None)
    expect_clear_error(call, name)


def test_a_numpy_scalar_is_glued_as_the_same_python_number(monkeypatch):
    seen = {}
    monkeypatch.setattr(book, "_myst_glue", lambda n, v, display: seen.update({n: v}))
    book.glue("acc-test_1", np.float32(0.25))
    assert seen == {"acc-test_1": 0.25} and type(seen["acc-test_1"]) is float
