"""Helpers for the book's notebooks: put computed numbers into the prose.

In the built book, :func:`glue` stores a value with myst-nb so that ``{glue:text}`name```
in a markdown cell shows exactly the number the cell computed. In Colab or plain Jupyter,
where myst-nb is not installed, it falls back to printing ``name = value`` so the learner
still sees it. A name that the ``{glue:text}`` role could not parse (spaces, dots,
non-ASCII letters) is a ``ValueError``; a name that is not a string a ``TypeError``.
"""

from __future__ import annotations

from typing import Any

from companion.validation import check_bool, describe

try:  # myst-nb is part of the book extra, not of the companion's own requirements
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - exercised in Colab
    _myst_glue = None


def glue(name: str, value: Any, display: bool = False) -> None:
    """Glue ``value`` under ``name`` for the prose (myst-nb).

    It returns nothing, so a cell that ends with ``glue(...)`` shows no stray value.

    ``display=True`` also shows the value in the cell's output of the built book.
    """
    if not isinstance(name, str):
        raise TypeError(f"glue name must be a str, got {describe(name)}")
    if not name.replace("_", "").replace("-", "").isascii() or not (
        name.replace("_", "").replace("-", "").isalnum()
    ):
        raise ValueError(
            f"glue name must be ASCII letters, digits, '-' or '_' (no spaces), got {name!r}"
        )
    check_bool(display, "display")
    # NumPy scalars and 0-d tensors print as "np.float64(...)" / "tensor(...)", which
    # {glue:text}`name:.2f` cannot format: glue the plain Python number instead.
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    if _myst_glue is not None:
        _myst_glue(name, value, display=display)
    else:  # outside the book build the prose cannot show it, so show it here
        print(f"{name} = {value}")
