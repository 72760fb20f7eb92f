"""companion.book.glue: validated names, nothing echoed, a plain fallback outside myst-nb."""

import pytest

from companion import book


def test_glue_rejects_bad_names():
    with pytest.raises(ValueError, match="glue name"):
        book.glue("has space", 1)


def test_glue_returns_nothing_and_falls_back_to_printing(monkeypatch, capsys):
    monkeypatch.setattr(book, "_myst_glue", None)  # as in Colab, where myst-nb is absent
    assert book.glue("answer", 42) is None
    assert capsys.readouterr().out == "answer = 42\n"


def test_glue_hands_the_value_to_myst_nb(monkeypatch):
    seen = {}
    monkeypatch.setattr(book, "_myst_glue", lambda n, v, display: seen.update({n: (v, display)}))
    book.glue("acc", 0.97)
    assert seen == {"acc": (0.97, False)}


def test_glue_turns_numpy_and_torch_scalars_into_python_numbers(monkeypatch):
    import numpy as np
    import torch

    seen = {}
    monkeypatch.setattr(book, "_myst_glue", lambda n, v, display: seen.update({n: v}))
    book.glue("a", np.float64(9.5))
    book.glue("b", torch.tensor(3))
    book.glue("c", np.array([1.0, 2.0]))  # arrays are left alone
    assert type(seen["a"]) is float and seen["a"] == 9.5
    assert type(seen["b"]) is int and seen["b"] == 3
    assert isinstance(seen["c"], np.ndarray)


@pytest.mark.parametrize("bad", ["has space", "dot.name", "naïve", "", "a+b"])
def test_glue_names_the_role_cannot_parse_are_refused(bad):
    with pytest.raises(ValueError, match="glue name must be ASCII"):
        book.glue(bad, 1)


def test_glue_name_of_the_wrong_kind_is_a_type_error():
    with pytest.raises(TypeError, match="glue name must be a str"):
        book.glue(3, 1)
    with pytest.raises(TypeError, match="display must be True or False"):
        book.glue("ok", 1, display="yes")
