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
