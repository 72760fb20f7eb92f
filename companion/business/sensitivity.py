"""How a result moves when one assumption changes, the others held at their base values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def sensitivity(
    function: Callable[..., Any], base: dict, name: str, values: Iterable
) -> list[tuple[Any, Any]]:
    """``[(v, function(**{**base, name: v})) for v in values]``: one assumption varied.

    ``name`` must be an argument ``function`` accepts; a misspelt name fails with the
    function's own TypeError instead of being silently ignored.
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    if not isinstance(base, dict):
        raise TypeError(f"base must be a dict of keyword arguments, got {type(base).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value to try")
    return [(v, function(**{**base, name: v})) for v in values]
