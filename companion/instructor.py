"""Instructor tooling: student versions of a chapter and grading of a submitted notebook.

The exercise format (README, "Writing a chapter") makes both mechanical:

* ``student``: every code cell tagged ``solution`` keeps its set-up lines but the part
  between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub that raises
  ``NotImplementedError``; markdown cells from ``{solution-start}`` to ``{solution-end}``
  (and single-cell ``{solution}`` directives) are removed; outputs are cleared.
* ``grade``: executes a submitted notebook and counts the cells tagged ``check`` that ran
  without an error.

Usage::

    python -m companion.instructor student book/ch03_regression.ipynb --out student/
    python -m companion.instructor grade student/ch03_regression.ipynb
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_SOLUTION_START = re.compile(r"^[`:]{3,}\s*\{solution-start\}", re.M)
_SOLUTION_END = re.compile(r"^[`:]{3,}\s*\{solution-end\}", re.M)
_SOLUTION_SINGLE = re.compile(r"^[`:]{3,}\s*\{solution\}", re.M)


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def stub_solution(source: str) -> str:
    """Replace every BEGIN/END SOLUTION region of ``source`` by a stub, keeping indentation."""
    out, inside, found = [], False, False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError("nested '### BEGIN SOLUTION'")
            inside, found = True, True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in STUB.splitlines())
        elif stripped == END:
            if not inside:
                raise ValueError("'### END SOLUTION' without a BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("'### BEGIN SOLUTION' without an END")
    if not found:
        raise ValueError("a cell tagged 'solution' has no '### BEGIN SOLUTION' marker")
    return "\n".join(out)


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` with solutions removed and stubs left (see module doc)."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    in_solution = False
    for cell in nb.cells:
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "markdown":
            src = cell.source
            if _SOLUTION_START.search(src):
                in_solution = True
            ended = bool(_SOLUTION_END.search(src))
            if in_solution or _SOLUTION_SINGLE.search(src) or ended:
                in_solution = in_solution and not ended
                continue
        elif cell.cell_type == "code":
            if "solution" in tags(cell):
                cell.source = stub_solution(cell.source)
            elif in_solution:
                raise ValueError(
                    "a code cell inside a solution is not tagged 'solution':\n" + cell.source[:200]
                )
            cell.outputs, cell.execution_count = [], None
        out.cells.append(cell)
    if in_solution:
        raise ValueError("a {solution-start} has no matching {solution-end}")
    return out


@dataclass
class Grade:
    passed: list[int]
    failed: list[tuple[int, str]]

    @property
    def score(self) -> str:
        return f"{len(self.passed)}/{len(self.passed) + len(self.failed)}"


def grade(path: str | Path, timeout: int = 600) -> Grade:
    """Execute the notebook at ``path``; report which ``check`` cells passed."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=True,
        resources={"metadata": {"path": str(Path(path).parent)}},
    ).execute()
    passed, failed = [], []
    stub_left = False  # did the solution cells before this check still raise the stub?
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if "solution" in tags(cell):
            stub_left = stub_left or any(e["ename"] == "NotImplementedError" for e in errors)
        if "check" not in tags(cell):
            continue
        if errors and stub_left:
            failed.append(
                (i, "not attempted: a solution cell above still raises NotImplementedError")
            )
        elif errors:
            failed.append((i, f"{errors[0]['ename']}: {errors[0]['evalue']}"[:300]))
        else:
            passed.append(i)
        stub_left = False
    return Grade(passed, failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.instructor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("student", help="write the student version of chapter notebooks")
    s.add_argument("notebooks", nargs="+", type=Path)
    s.add_argument("--out", type=Path, default=Path("student"))
    g = sub.add_parser("grade", help="execute a submitted notebook and score its check cells")
    g.add_argument("notebook", type=Path)
    args = parser.parse_args(argv)

    if args.command == "student":
        args.out.mkdir(parents=True, exist_ok=True)
        for path in args.notebooks:
            if not path.exists():
                parser.error(f"no such notebook: {path}")
            target = args.out / path.name
            nbformat.write(student_version(nbformat.read(path, as_version=4)), target)
            print(f"wrote {target}")
        return 0
    result = grade(args.notebook)
    for i, message in result.failed:
        print(f"cell {i}: FAILED  {message}")
    print(f"score: {result.score} checks passed")
    return 0 if not result.failed else 1


if __name__ == "__main__":
    sys.exit(main())
