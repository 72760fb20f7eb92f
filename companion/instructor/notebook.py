"""The exercise format of a chapter notebook, read mechanically (README, "Writing a chapter").

An exercise is a markdown cell with ``{exercise-start}`` and ``:label: chNN-name``; its
solution is a ``{solution-start} chNN-name`` ... ``{solution-end}`` run of cells (or one
``{solution}`` directive) with code cells tagged ``solution`` whose answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION``; after it come code cells tagged ``check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_EXERCISE = re.compile(r"^([`:]{3,})\s*\{exercise(?:-start)?\}[^\n]*\n(?:[ \t]*:[^\n]*\n)*", re.M)
_LABEL = re.compile(r"^[ \t]*:label:[ \t]*(\S+)", re.M)
_HEADING = re.compile(r"^\s*#{1,6}\s")


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def exercise_label(cell) -> str | None:
    """The label of the exercise that a markdown cell opens, or None."""
    if cell.cell_type != "markdown":
        return None
    m = _EXERCISE.search(cell.source)
    if not m:
        return None
    label = _LABEL.search(m.group(0))
    return label.group(1) if label else None


def split_solution(source: str) -> tuple[list[str], list[str], list[str]]:
    """``(given_before, answer, given_after)`` lines of a solution cell's source.

    Raises ValueError for a missing, unmatched or nested marker."""
    before, answer, after, state = [], [], [], "before"
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if state == "inside":
                raise ValueError("nested '### BEGIN SOLUTION'")
            if state == "after":
                raise ValueError("a solution cell may hold only one BEGIN/END SOLUTION region")
            state = "inside"
            answer.append(line)  # kept so that stub_solution knows the indentation
        elif stripped == END:
            if state != "inside":
                raise ValueError("'### END SOLUTION' without a BEGIN")
            state = "after"
        else:
            {"before": before, "inside": answer, "after": after}[state].append(line)
    if state == "inside":
        raise ValueError("'### BEGIN SOLUTION' without an END")
    if state == "before":
        raise ValueError("a cell tagged 'solution' has no '### BEGIN SOLUTION' marker")
    return before, answer, after


def stub_solution(source: str) -> str:
    """Replace the BEGIN/END SOLUTION region of ``source`` by a stub, keeping indentation."""
    before, answer, after = split_solution(source)
    marker = answer[0]
    indent = marker[: len(marker) - len(marker.lstrip())]
    return "\n".join(before + [indent + s for s in STUB.splitlines()] + after)


@dataclass
class Exercise:
    """One exercise of a notebook: where it starts, its solution and check cells."""

    label: str
    start: int  # index of the {exercise-start} markdown cell
    cells: list[int] = field(default_factory=list)  # code cells in its region
    solutions: list[int] = field(default_factory=list)  # code cells tagged 'solution'
    checks: list[int] = field(default_factory=list)  # code cells tagged 'check'


def exercises(nb: nbformat.NotebookNode, strict: bool = True) -> dict[str, Exercise]:
    """The exercises of ``nb`` by label, in order.

    An exercise's region runs from its ``{exercise-start}`` cell to the next exercise or
    the next markdown heading; a ``check`` cell belongs to the last exercise above it.
    A repeated label is an error (``strict``) or starts a region that is ignored."""
    found: dict[str, Exercise] = {}
    current: Exercise | None = None
    last: Exercise | None = None
    for i, cell in enumerate(nb.cells):
        label = exercise_label(cell)
        if label is not None:
            if label in found:
                if strict:
                    raise ValueError(f"two exercises have the label {label!r}")
                current = last = Exercise(label, i)  # not registered: the first one counts
                continue
            current = last = found[label] = Exercise(label, i)
            continue
        if cell.cell_type == "markdown":
            if _HEADING.match(cell.source):
                current = None
            continue
        if cell.cell_type != "code":
            continue
        if "check" in tags(cell):
            if last is not None:
                last.checks.append(i)
            continue
        if current is not None:
            current.cells.append(i)
            if "solution" in tags(cell):
                current.solutions.append(i)
    return found
