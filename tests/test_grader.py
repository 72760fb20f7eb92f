"""The grader cannot be fooled: solved, untouched and sabotaged submissions (issue 17).

A small fixture chapter (tests/fixtures/ch99_grading.ipynb) is graded in one batch (one
kernel per submission); one real chapter, read at test time, is graded as an untouched
student notebook and as a sabotaged one.
"""

from __future__ import annotations

import csv
import json
import sys

import nbformat
import pytest

from companion.instructor import exercises, grade, grade_folder, student_version
from companion.instructor import kernel as grader_kernel
from companion.instructor.grade import _answer_part, build_graded_notebook
from tests.bookinfo import BOOK
from tests.fixtures.sabotage import sabotaged_chapter, sabotaged_fixture

FIXTURES = BOOK.parent / "tests" / "fixtures"
KEY = FIXTURES / "ch99_grading.ipynb"
LABELS = ["ch99-square", "ch99-mean", "ch99-count", "ch99-cube"]
REAL = BOOK / "ch02_core_concepts.ipynb"


def read(path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade a folder of three submissions of the fixture chapter into one CSV."""
    folder = tmp_path_factory.mktemp("submissions")
    key = read(KEY)
    nbformat.write(key, folder / "a_solved.ipynb")
    nbformat.write(student_version(key), folder / "b_student.ipynb")
    nbformat.write(sabotaged_fixture(key), folder / "c_sabotaged.ipynb")
    reports = grade_folder(folder, KEY, folder / "grades.csv", timeout=10)
    for report in reports:  # the tables shown in the closing note
        print(report.table(), end="\n\n")
    return {r.submission.rsplit("/", 1)[-1]: r for r in reports}, folder / "grades.csv"


def test_a_solved_notebook_passes_every_exercise(batch):
    report = batch[0]["a_solved.ipynb"]
    assert [r.label for r in report.results] == LABELS  # checked exercises only, in order
    assert [r.status for r in report.results] == ["passed"] * 4, report.table()
    assert report.score == "4/4"


def test_an_untouched_student_notebook_is_not_attempted(batch):
    report = batch[0]["b_student.ipynb"]
    assert {r.status for r in report.results} == {"not attempted"}, report.table()
    assert all("NotImplementedError" in r.message for r in report.results)


def test_no_sabotage_earns_a_pass(batch):
    report = batch[0]["c_sabotaged.ipynb"]
    status = {r.label: r for r in report.results}
    assert report.passed == 0, report.table()
    # an edited check cell and a changed given value
    assert status["ch99-square"].status == "failed"
    assert "`base` is given by the exercise" in status["ch99-square"].message
    # helpers, CheckFailed, torch.allclose, print and sys.exit patched: the real check still runs
    assert status["ch99-mean"].status == "failed"
    assert status["ch99-mean"].message == "the mean is 0, expected 3"
    # an endless loop times out, and the exercise after it is still graded
    assert status["ch99-count"].status == "timed out"
    # a patched code object, a forged marker, a printed "Correct:" and a deleted check cell
    assert status["ch99-cube"].status == "failed"
    assert status["ch99-cube"].message == "the cube is 7, expected 8 (-1)"
    flagged = " ".join(report.flags)
    assert "__code__" in flagged and "builtins" in flagged  # shown to the instructor


def test_the_batch_writes_one_csv_row_per_submission(batch):
    with open(batch[1], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["submission"] for r in rows] == [
        "a_solved.ipynb",
        "b_student.ipynb",
        "c_sabotaged.ipynb",
    ]
    assert [r["passed"] for r in rows] == ["4", "0", "0"]
    assert rows[2]["ch99-count"] == "timed out" and rows[1]["ch99-mean"] == "not attempted"
    assert "the mean is 0, expected 3" in rows[2]["messages"]


def test_report_as_json_and_table(batch):
    report = batch[0]["c_sabotaged.ipynb"]
    data = json.loads(report.to_json())
    assert data["score"] == "0/4" and data["results"][2] == {
        "label": "ch99-count",
        "status": "timed out",
        "message": "a cell of this exercise timed out",
    }
    table = report.table().splitlines()
    assert table[1] == "| exercise | result | message |"
    assert "| ch99-mean | failed | the mean is 0, expected 3 |" in table


def test_the_graded_notebook_is_the_key_with_only_the_answers_taken():
    key = read(KEY)
    graded, missing = build_graded_notebook(key, sabotaged_fixture(key))
    assert missing == []
    roles = [c.metadata["grader"]["role"] for c in graded.cells]
    assert roles[0] == "prelude" and roles.count("check") == 4
    text = "\n".join(c.source for c in graded.cells)
    assert "ce.passed = 1" not in text  # student code outside the exercises never runs
    checks = [c.source for c in graded.cells if c.metadata["grader"]["role"] == "check"]
    key_checks = [key.cells[i].source for e in exercises(key).values() for i in e.checks]
    assert [c.split("\n", 1)[1].rsplit("\n", 1)[0] for c in checks] == key_checks
    nonces = [c.metadata["grader"]["nonce"] for c in graded.cells if c.metadata["grader"]["nonce"]]
    assert len(set(nonces)) == 4 and all(len(n) == 32 for n in nonces)
    # a fresh session every time: nothing a student could learn from an earlier run
    again, _ = build_graded_notebook(key, sabotaged_fixture(key))
    assert again.cells[0].source != graded.cells[0].source


def test_a_deleted_exercise_is_not_attempted():
    key = read(KEY)
    sub = student_version(key)
    start = exercises(sub)["ch99-mean"].start
    sub.cells[start].source = "The exercise was deleted."
    _, missing = build_graded_notebook(key, sub)
    assert missing == ["ch99-mean"]


@pytest.mark.parametrize(
    "student, expected",
    [
        ("base = 3\nanswer = base**2", "answer = base**2"),
        ("base = 3\n\n# mine\nanswer = 9\nprint(answer)", "\n# mine\nanswer = 9\nprint(answer)"),
        ("base = 4\nanswer = 16", "base = 4\nanswer = 16"),  # given edited: run all of it
    ],
)
def test_answer_part_strips_intact_given_lines(student, expected):
    assert _answer_part(student, ["base = 3"], []) == expected


def test_answer_part_strips_given_lines_after_the_answer():
    assert _answer_part("v = 1\nm = v\nprint(m)", ["v = 1"], ["print(m)"]) == "m = v"


def test_given_names_and_loaded_names():
    assert grader_kernel.given_names("torch.manual_seed(3)\na, b = 1, 2\nc = [a]\nc[0] = 3") == [
        "a",
        "b",
        "c",
    ]
    assert grader_kernel.loaded_names("check_x(W, b)\ny = 1") == ["W", "b", "check_x"]


@pytest.mark.parametrize(
    "a, b, same",
    [
        ((64, 128, 10), (64, 128, 10), True),
        ((64, 128, 10), (64, 128), False),
        ([1, 2], (1, 2), False),
        (float("nan"), float("nan"), True),
        (1, 1.0, False),
    ],
)
def test_same_compares_given_values_strictly(a, b, same):
    assert grader_kernel._same(a, b) is same


def test_same_on_tensors_and_arrays():
    import numpy as np
    import torch

    t = torch.tensor([1.0, 2.0])
    assert grader_kernel._same(t, t.clone())
    assert not grader_kernel._same(t, t.double())
    assert not grader_kernel._same(t, torch.tensor([1.0, 2.5]))
    assert grader_kernel._same(np.arange(3), np.arange(3))
    assert not grader_kernel._same(np.arange(3), np.arange(3.0))
    assert grader_kernel._plain((t, [1, "a"], {"k": np.zeros(2)}))
    assert not grader_kernel._plain(torch.nn.Linear(2, 2))  # models may be trained in place
    assert not grader_kernel._plain(torch.zeros(2, requires_grad=True))


def test_restore_undoes_monkey_patching_in_process(monkeypatch):
    """kernel.restore outside a kernel: module attributes, code objects, torch, builtins."""
    import builtins

    import torch

    import companion.exercises as ex

    for name in ("companion.exercises",):  # put the real module back after the test
        monkeypatch.setitem(sys.modules, name, sys.modules[name])
    monkeypatch.setattr(sys.modules["companion"], "exercises", ex)
    monkeypatch.setattr(grader_kernel, "_state", {})
    original = (ex.expect_close, ex.expect_close.__code__, torch.allclose, builtins.print)
    grader_kernel.install("test", ["companion.exercises"])
    try:
        monkeypatch.setattr(ex, "expect_close", lambda *a, **k: None, raising=True)
        ex.expect_integer.__code__ = (lambda *a, **k: None).__code__
        torch.allclose = lambda *a, **k: True
        torch.Tensor.allclose = lambda *a, **k: True
        grader_kernel.restore()
        assert (ex.expect_close, ex.expect_close.__code__) == original[:2]
        assert torch.allclose is original[2] and builtins.print is original[3]
        assert "allclose" not in vars(torch.Tensor)
        with pytest.raises(ex.CheckFailed):
            ex.expect_integer(7, 8, "the cube")
        fresh = sys.modules["companion.exercises"]
        assert fresh is not ex and fresh.CheckFailed is not ex.CheckFailed  # rebuilt from source
    finally:
        sys.modules.pop("_course_grader_test", None)


@pytest.mark.slow
def test_a_real_chapter_untouched_is_not_attempted(tmp_path):
    submission = tmp_path / REAL.name
    nbformat.write(student_version(read(REAL)), submission)
    report = grade(submission, REAL, timeout=120)
    print(report.table())
    assert len(report.results) >= 3
    assert {r.status for r in report.results} == {"not attempted"}, report.table()


@pytest.mark.slow
def test_a_real_chapter_sabotaged_earns_no_pass_but_an_honest_answer_does(tmp_path):
    key = read(REAL)
    module = "companion.exercises." + REAL.name[:4]
    nb, labels = sabotaged_chapter(key, module)
    submission = tmp_path / REAL.name
    nbformat.write(nb, submission)
    report = grade(submission, REAL, timeout=120)
    print(report.table())
    assert report.status(labels[0]) in ("failed", "error"), report.table()
    assert report.status(labels[1]) == "passed", report.table()
    assert report.status(labels[2]) in ("failed", "error"), report.table()
