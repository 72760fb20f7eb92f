"""Student and instructor versions, nbgrader metadata, and the student book (issue 17)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from companion import instructor
from companion.instructor.notebook import split_solution
from companion.instructor.student import NBGRADER_SCHEMA, strip_solution_markdown
from tests.bookinfo import BOOK

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = FIXTURES / "exercise_format.ipynb"
CH99 = FIXTURES / "ch99_grading.ipynb"
FIGURE = FIXTURES / "ch98_figure.ipynb"  # a figure cell with the myst-nb metadata chapters use
REAL = BOOK / "ch02_core_concepts.ipynb"  # edited by others: read at test time
SOLUTION_BLOCK = re.compile(
    r"^([`:]{3,})\s*\{solution-start\}.*?^[`:]{3,}\s*\{solution-end\}[^\n]*\n\1"
    r"|^([`:]{3,})\s*\{solution\}.*?^\2\s*$",
    re.S | re.M,
)


def read(path):
    return nbformat.read(path, as_version=4)


def solution_text(nb) -> list[str]:
    """Every line of solution code and prose in ``nb`` (found independently of the tool)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in instructor.tags(cell):
            lines += split_solution(cell.source)[1][1:]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for block in SOLUTION_BLOCK.finditer(markdown):
        lines += block.group(0).splitlines()[1:-1]
    return [line.strip() for line in lines if len(line.strip()) > 3 and "{solution" not in line]


def assert_no_solutions(key, text: str) -> None:
    full = "\n".join(c.source for c in key.cells)
    for line in solution_text(key):
        # a solution line may also occur in the chapter itself: only those copies may remain
        allowed = full.count(line) - solution_text(key).count(line)
        assert text.count(line) <= allowed, f"solution text left: {line!r}"


def test_stub_keeps_given_lines_and_indentation():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION"
    out = instructor.stub_solution(src)
    assert out == "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    src = "a = 1\n### BEGIN SOLUTION\nb = a\n### END SOLUTION\nprint(b)"
    assert instructor.stub_solution(src) == "a = 1\n" + instructor.STUB + "\nprint(b)"


@pytest.mark.parametrize(
    "bad",
    [
        "x = 1",
        "### BEGIN SOLUTION\nx = 1",
        "### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION",
        "### BEGIN SOLUTION\n### END SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
    ],
)
def test_malformed_solution_markers_are_errors(bad):
    with pytest.raises(ValueError):
        instructor.stub_solution(bad)


def test_student_version_removes_solutions_and_keeps_exercises_and_checks():
    nb = read(FIXTURE)
    student = instructor.student_version(nb)
    text = "\n".join(c.source for c in student.cells)
    assert "answer = base**2" not in text and "Multiply 3" not in text
    assert "single-cell solution" not in text
    assert "raise NotImplementedError()" in text and "base = 3" in text
    assert "{exercise-start}" in text and "expect_close(answer" in text
    assert len(student.cells) == len(nb.cells) - 3  # solution-start, -end, single {solution}
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


def test_a_solution_inside_the_exercise_cell_is_removed_and_the_question_kept():
    text = (
        "```{exercise-start} Why\n:label: ch99-why\n```\nWhy is it so?\n```{exercise-end}\n```\n\n"
        "````{solution} ch99-why\n:class: dropdown\nBecause.\n```python\nx = 1\n```\nSECRET\n````\n"
        "After the solution."
    )
    kept, open_ = strip_solution_markdown(text, False)
    assert "Why is it so?" in kept and "After the solution." in kept and not open_
    assert "Because" not in kept and "SECRET" not in kept and "x = 1" not in kept
    kept, open_ = strip_solution_markdown("Intro\n```{solution-start} ch99-why\n```\nProse", False)
    assert kept == "Intro" and open_
    kept, open_ = strip_solution_markdown("more prose\n```{solution-end}\n```\nNext", True)
    assert kept == "Next" and not open_
    with pytest.raises(ValueError, match="no matching"):
        strip_solution_markdown("```{solution-end}\n```", False)


def test_untagged_code_inside_a_solution_is_an_error():
    nb = read(FIXTURE)
    nb.cells[3].metadata["tags"] = []
    with pytest.raises(ValueError, match="not tagged 'solution'"):
        instructor.student_version(nb)


@pytest.mark.parametrize("path", [CH99, REAL], ids=lambda p: p.stem)
def test_no_solution_code_or_prose_in_the_student_notebook(path):
    key = read(path)
    assert solution_text(key), "the detector found no solution text to look for"
    student = instructor.student_version(key)
    assert_no_solutions(key, "\n".join(c.source for c in student.cells))
    for label, ex in instructor.exercises(key).items():  # every exercise keeps its question
        assert any(f":label: {label}" in c.source for c in student.cells)
        assert len(instructor.exercises(student)[label].checks) == len(ex.checks)


def test_the_detector_sees_solutions_left_in_place():
    key = read(CH99)
    with pytest.raises(AssertionError, match="solution text left"):
        assert_no_solutions(key, "\n".join(c.source for c in key.cells))


def test_nbgrader_metadata_marks_answers_and_checks():
    for make in (instructor.instructor_version, instructor.student_version):
        nb = make(read(CH99))
        meta = [c.metadata.get("nbgrader") for c in nb.cells]
        answers = [m for m in meta if m and m["solution"]]
        checks = [m for m in meta if m and m["grade"]]
        assert [m["grade_id"] for m in answers] == [
            f"ch99-{n}-answer1" for n in ("square", "mean", "count", "cube")
        ]
        assert [m["grade_id"] for m in checks] == [
            f"ch99-{n}-check1" for n in ("square", "mean", "count", "cube")
        ]
        for m in answers:
            assert m == m | {"grade": False, "locked": False, "schema_version": NBGRADER_SCHEMA}
            assert "points" not in m
        for m in checks:
            assert m == m | {"solution": False, "locked": True, "points": 1}
            assert m["schema_version"] == NBGRADER_SCHEMA
        ids = [m["grade_id"] for m in meta if m]
        assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[\w-]+", i) for i in ids)


def test_nbgrader_accepts_the_metadata_and_makes_the_same_student_version():
    pytest.importorskip("nbgrader")
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import CheckCellMetadata, ClearSolutions

    for path in (CH99, REAL):
        teacher = instructor.instructor_version(read(path))
        MetadataValidator().validate_nb(teacher)
        CheckCellMetadata().preprocess(teacher, {})
        ours = instructor.student_version(read(path))
        MetadataValidator().validate_nb(ours)
        theirs, _ = ClearSolutions().preprocess(teacher, {"language": "python"})
        code = [c.source for c in theirs.cells if c.cell_type == "code"]
        assert code == [c.source for c in ours.cells if c.cell_type == "code"]


def test_cli_writes_student_and_instructor_notebooks(tmp_path):
    for command in ("student", "instructor"):
        out = tmp_path / command
        assert instructor.main([command, str(CH99), "--out", str(out)]) == 0
        nb = read(out / CH99.name)
        text = "\n".join(c.source for c in nb.cells)
        assert ("SQUARE-CODE-SECRET" in text) is (command == "instructor")
        assert any("nbgrader" in c.metadata for c in nb.cells)


def _tiny_book(root: Path) -> Path:
    root.mkdir()
    shutil.copy(CH99, root / CH99.name)
    shutil.copy(FIGURE, root / FIGURE.name)
    (root / "intro.md").write_text("# A tiny book\n\nIt has two chapters.\n")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n- file: ch98_figure\n- file: ch99_grading\n"
    )
    (root / "_config.yml").write_text(
        "title: Tiny\nexecute:\n  execute_notebooks: force\n"
        "sphinx:\n  extra_extensions: [sphinx_exercise]\n  config: {numfig: true}\n"
    )
    return root


def _site_text(html: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in html.rglob("*") if p.is_file()
                     and p.suffix in (".html", ".js", ".txt", ".ipynb", ".md"))  # fmt: skip


@pytest.mark.slow
def test_student_book_has_no_solutions_and_the_instructor_book_keeps_them(tmp_path):
    from companion.instructor.build import build_student_book

    root = _tiny_book(tmp_path / "book")
    html = build_student_book(tmp_path / "student", root=root)
    student = _site_text(html)
    assert "Set <code" in student and "ch99-square" in student  # the exercises are there
    assert "SECRET" not in student  # no solution code or prose, not even hidden
    assert 'class="output error' not in student and "Traceback" not in student
    assert_no_solutions(read(CH99), student)
    assert not any(c.get("outputs") for c in read(tmp_path / "student" / CH99.name).cells
                   if c.cell_type == "code")  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]
        + ["build", str(root), "--builder", "html"],
        check=True,
        capture_output=True,
    )
    teacher = _site_text(root / "_build" / "html")
    for secret in ("SQUARE-CODE-SECRET", "SQUARE-PROSE-SECRET", "WHY-PROSE-SECRET"):
        assert secret in teacher
    # the figure metadata of the common brief gives alt text and a numbered caption
    for html in (teacher, student):
        figure = re.search(r"<figure[^>]*id=\"fig-ch98-line\".*?</figure>", html, re.S)
        assert figure, "no figure with the name given in the cell metadata"
        assert '<img alt="A dashed line rising from (0, 0) to (2, 4)"' in figure.group(0)
        caption = re.sub(r"<[^>]+>", "", figure.group(0).split("<figcaption>")[1])
        assert re.match(r"\s*Fig(ure|\.) 1 The line y = 2x\.", caption), caption
        assert 'href="#fig-ch98-line"' in html  # {numref} resolved
