"""Instructor tooling: student versions of a chapter, and grading that a student cannot fool.

* ``student.py``: student notebooks (solutions removed, stubs left) and instructor
  notebooks, both with nbgrader cell metadata; ``build.py``: the student book.
* ``grade.py``: grades a submission against the instructor's notebook (``kernel.py`` is
  its part inside the kernel).

Usage (``python -m companion.instructor --help``)::

    python -m companion.instructor student book/ch03_regression.ipynb --out student/
    python -m companion.instructor grade student/ch03_regression.ipynb --json report.json
    python -m companion.instructor grade submissions/ --key book/ch03_regression.ipynb
    python -m companion.instructor book --out student/   # the student HTML book
"""

from companion.instructor.cli import main
from companion.instructor.grade import Report, grade, grade_folder
from companion.instructor.notebook import BEGIN, END, STUB, exercises, stub_solution, tags
from companion.instructor.student import instructor_version, student_version

__all__ = [
    "BEGIN",
    "END",
    "STUB",
    "Report",
    "exercises",
    "grade",
    "grade_folder",
    "instructor_version",
    "main",
    "stub_solution",
    "student_version",
    "tags",
]
