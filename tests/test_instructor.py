"""Student versions and grading, on a fixture notebook in the book's exercise format."""

from pathlib import Path

import nbformat
import pytest

from companion import instructor

FIXTURE = Path(__file__).parent / "fixtures" / "exercise_format.ipynb"


def test_stub_keeps_setup_lines_and_indentation():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION"
    out = instructor.stub_solution(src)
    assert out == "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()"


@pytest.mark.parametrize(
    "bad",
    [
        "x = 1",
        "### BEGIN SOLUTION\nx = 1",
        "### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION",
    ],
)
def test_malformed_solution_markers_are_errors(bad):
    with pytest.raises(ValueError):
        instructor.stub_solution(bad)


def test_student_version_removes_solutions_and_keeps_exercises_and_checks():
    nb = nbformat.read(FIXTURE, as_version=4)
    student = instructor.student_version(nb)
    text = "\n".join(c.source for c in student.cells)
    assert "answer = base**2" not in text and "Multiply 3" not in text
    assert "single-cell solution" not in text
    assert "raise NotImplementedError()" in text and "base = 3" in text
    assert "{exercise-start}" in text and "expect_close(answer" in text
    assert len(student.cells) == len(nb.cells) - 3  # solution-start, -end, single {solution}


def test_untagged_code_inside_a_solution_is_an_error():
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells[3].metadata["tags"] = []
    with pytest.raises(ValueError, match="not tagged 'solution'"):
        instructor.student_version(nb)


def test_grade_counts_passing_checks(tmp_path):
    assert instructor.grade(FIXTURE).score == "1/1"
    student = tmp_path / "student.ipynb"
    assert instructor.main(["student", str(FIXTURE), "--out", str(tmp_path)]) == 0
    (tmp_path / FIXTURE.name).rename(student)
    result = instructor.grade(student)
    assert result.score == "0/1" and "not attempted" in result.failed[0][1]


def test_grade_reports_a_wrong_answer_with_the_checks_message(tmp_path):
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells[3].source = "base = 3\n### BEGIN SOLUTION\nanswer = base * 2\n### END SOLUTION"
    wrong = tmp_path / "wrong.ipynb"
    nbformat.write(nb, wrong)
    result = instructor.grade(wrong)
    assert result.score == "0/1" and "answer is 6, expected 9" in result.failed[0][1]
