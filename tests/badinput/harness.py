"""Classify what the companion does with a plausible mistake, and count the outcomes.

Each bad-input case is a call that a learner might make by mistake. Its outcome is one of

* ``clear``: a ``TypeError`` or ``ValueError`` whose message names the argument (one of
  ``names``) - what we want;
* ``unhelpful``: any other exception, or one whose message names none of ``names``;
* ``silent``: no exception at all - a wrong answer returned without a word, the worst.

:func:`expect_clear_error` asserts ``clear`` and records the outcome, so the terminal
summary of a run (see ``conftest.py``) reports how many cases there were of each kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

OUTCOMES: Counter[str] = Counter()


@dataclass(frozen=True)
class Outcome:
    kind: str  # "clear", "unhelpful" or "silent"
    detail: str


def classify(call: Callable[[], Any], names: Sequence[str]) -> Outcome:
    """Run ``call`` and classify the outcome (see the module docstring)."""
    try:
        result = call()
    except (TypeError, ValueError) as err:
        message = str(err)
        if any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message)
               for n in names):  # fmt: skip
            return Outcome("clear", f"{type(err).__name__}: {message}")
        return Outcome("unhelpful", f"{type(err).__name__} not naming {list(names)}: {message}")
    except Exception as err:  # noqa: BLE001 - every other exception is the finding
        return Outcome("unhelpful", f"{type(err).__name__}: {err}")
    return Outcome("silent", f"returned {type(result).__name__}")


def expect_clear_error(
    call: Callable[[], Any], *names: str, kind: type[Exception] | None = None
) -> str:
    """Assert that ``call`` raises a clear error naming one of ``names``; return its text.

    ``kind`` (``TypeError`` or ``ValueError``) pins the exception class as well.
    """
    if not names:
        raise ValueError("name at least one argument the error message must mention")
    outcome = classify(call, names)
    OUTCOMES[outcome.kind] += 1
    assert outcome.kind == "clear", f"{outcome.kind}: {outcome.detail}"
    if kind is not None:
        assert outcome.detail.startswith(kind.__name__ + ":"), outcome.detail
    return outcome.detail
