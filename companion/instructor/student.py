"""Student and instructor versions of a chapter notebook, with nbgrader cell metadata.

* ``student_version``: every code cell tagged ``solution`` keeps its given lines but the
  ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes a stub that raises
  ``NotImplementedError``; solution prose (``{solution-start}`` ... ``{solution-end}`` runs of
  cells, and ``{solution}`` directives, also inside a cell that holds the exercise) is
  removed, not hidden; outputs are cleared.
* ``instructor_version``: the notebook as it is, outputs cleared.

Both carry nbgrader metadata (``nbgrader: {grade, solution, locked, grade_id, points,
schema_version}``): answer cells are nbgrader "autograded answers", check cells
"autograder tests" worth one point, so an nbgrader course can import a chapter.
"""

from __future__ import annotations

import re

import nbformat

from companion.instructor.notebook import exercises, stub_solution, tags

NBGRADER_SCHEMA = 3
_DIRECTIVE = re.compile(r"^\s*([`:]{3,})\s*\{(solution|solution-start|solution-end)\}")


def _closing(lines: list[str], i: int, fence: str) -> int:
    """Index of the line that closes the directive opened at ``lines[i]`` with ``fence``."""
    for j in range(i + 1, len(lines)):
        if lines[j].strip() == fence:
            return j
    raise ValueError(f"directive {lines[i].strip()!r} is not closed by {fence!r}")


def strip_solution_markdown(source: str, in_solution: bool) -> tuple[str, bool]:
    """Remove solution directives and the prose inside them from a markdown cell.

    ``in_solution`` says whether a ``{solution-start}`` above is still open; the updated
    flag is returned with the text that remains."""
    lines, out, i = source.split("\n"), [], 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        kind, fence = (m.group(2), m.group(1)) if m else (None, "")
        if in_solution:
            if kind == "solution-end":
                i, in_solution = _closing(lines, i, fence), False
            i += 1
            continue
        if kind == "solution-end":
            raise ValueError("a {solution-end} has no matching {solution-start}")
        if kind is not None:  # {solution} block or the head of a {solution-start}
            i = _closing(lines, i, fence) + 1
            in_solution = kind == "solution-start"
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out).strip("\n"), in_solution


def nbgrader_metadata(nb: nbformat.NotebookNode) -> dict[int, dict]:
    """nbgrader metadata for the answer and check cells of ``nb``, by cell index."""
    meta: dict[int, dict] = {}
    for ex in exercises(nb).values():
        for k, i in enumerate(ex.solutions, 1):
            meta[i] = {"grade": False, "solution": True, "locked": False,
                       "grade_id": f"{ex.label}-answer{k}"}  # fmt: skip
        for k, i in enumerate(ex.checks, 1):
            meta[i] = {"grade": True, "solution": False, "locked": True,
                       "grade_id": f"{ex.label}-check{k}", "points": 1}  # fmt: skip
    for i, cell in enumerate(nb.cells):  # answers outside a labelled exercise
        if cell.cell_type == "code" and "solution" in tags(cell) and i not in meta:
            meta[i] = {"grade": False, "solution": True, "locked": False,
                       "grade_id": f"answer-cell-{i}"}  # fmt: skip
    for m in meta.values():
        m["schema_version"] = NBGRADER_SCHEMA
    return meta


def _copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict(nbformat.from_dict(dict(nb)))


def instructor_version(
    nb: nbformat.NotebookNode, keep_outputs: bool = False
) -> nbformat.NotebookNode:
    """A copy of ``nb`` with nbgrader metadata on answer/check cells and outputs cleared
    (``keep_outputs``: all but those of answer and check cells, which show the answers)."""
    out = _copy(nb)
    meta = nbgrader_metadata(out)
    for i, cell in enumerate(out.cells):
        if cell.cell_type == "code" and (not keep_outputs or i in meta):
            cell.outputs, cell.execution_count = [], None
        if i in meta:
            cell.metadata["nbgrader"] = meta[i]
    return out


def student_version(nb: nbformat.NotebookNode, keep_outputs: bool = False) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions removed and stubs left (see the module docstring).

    ``keep_outputs`` keeps the outputs of the chapter's own cells (for the student book,
    built from an executed notebook); answer and check cells never keep theirs."""
    source = instructor_version(nb, keep_outputs)
    out = nbformat.v4.new_notebook(metadata=source.metadata)
    in_solution = False
    for cell in source.cells:
        if cell.cell_type == "markdown":
            text, in_solution = strip_solution_markdown(cell.source, in_solution)
            if not text.strip():
                continue
            cell.source = text
        elif cell.cell_type == "code":
            if "solution" in tags(cell):
                cell.source = stub_solution(cell.source)
            elif in_solution:
                raise ValueError(
                    "a code cell inside a solution is not tagged 'solution':\n" + cell.source[:200]
                )
        out.cells.append(cell)
    if in_solution:
        raise ValueError("a {solution-start} has no matching {solution-end}")
    return out
