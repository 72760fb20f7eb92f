"""Grade a submitted notebook against the instructor's notebook, which the student cannot edit.

The graded notebook is built from the instructor's notebook (the key): its chapter cells and
its own check cells, with only the student's answer code taken from the submission (the code
cells in each exercise's region, matched by exercise label). Check cells the student wrote,
edited or deleted do not matter; given lines of an answer cell are the instructor's, and a
given value that the answer code changes fails the exercise. Each check cell starts by
undoing monkey-patching and rebuilding the check modules from pristine source
(``kernel.py``), and ends by publishing a result with a nonce the student cannot know: the
verdict comes from that structured result and from the cell's own error, never from prose.

Every student or check cell runs under a time limit; when one times out (or kills the
kernel) the grader starts a fresh kernel, replays the cells before it without it, and goes
on, so one endless exercise does not stop the others.

Statuses: ``passed``, ``failed`` (with the check's message), ``not attempted`` (the stub
still raises NotImplementedError), ``error`` (the answer or the check raised something
else), ``timed out``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from companion.instructor import kernel
from companion.instructor.notebook import exercises, split_solution, tags

ROOT = Path(__file__).resolve().parents[2]
STATUSES = ("passed", "failed", "not attempted", "error", "timed out")
_CHECK_MODULE = re.compile(r"\bcompanion\.exercises\.(\w+)")
_FAILED = {"CheckFailed", "AssertionError", "GivenValueChanged"}
# Code that aims at the grader rather than the exercise: flagged for the instructor to read.
_SUSPICIOUS = [
    "__import__", "builtins", "sys.modules", "input_transformers", "ast_transformers",
    "set_custom_exc", "events.register", "addaudithook", "settrace", "setprofile",
    "__code__", "_course_grader", "gc.get_objects", "ctypes", "os._exit", "os.kill",
    "companion.exercises", "importlib", "publish_display_data", "course-grader",
    "open(", "write_text", "shutil",
]  # fmt: skip


@dataclass
class ExerciseResult:
    label: str
    status: str
    message: str = ""


@dataclass
class Report:
    submission: str
    key: str
    results: list[ExerciseResult]
    flags: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.status == "passed" for r in self.results)

    @property
    def score(self) -> str:
        return f"{self.passed}/{len(self.results)}"

    def status(self, label: str) -> str:
        return next(r.status for r in self.results if r.label == label)

    def to_json(self) -> str:
        data = asdict(self) | {"score": self.score}
        return json.dumps(data, indent=2, ensure_ascii=False)

    def table(self) -> str:
        rows = ["| exercise | result | message |", "|---|---|---|"]
        for r in self.results:
            message = r.message.replace("|", "\\|").replace("\n", " ")
            rows.append(f"| {r.label} | {r.status} | {message} |")
        lines = [f"{self.submission} (key: {self.key})", *rows, f"score: {self.score} passed"]
        lines += [f"review: {flag}" for flag in self.flags]
        return "\n".join(lines)


def _lines(source: str) -> list[str]:
    return [line.rstrip() for line in source.splitlines() if line.strip()]


def _answer_part(student: str, before: list[str], after: list[str]) -> str:
    """The student's cell without the instructor's given lines (when they are intact)."""
    lines = [line.rstrip() for line in student.splitlines()]
    body = [line for line in lines if line.strip()]
    want_before, want_after = _lines("\n".join(before)), _lines("\n".join(after))
    if body[: len(want_before)] != want_before or (
        want_after and body[-len(want_after) :] != want_after
    ):
        return student  # given lines edited: run the whole cell after the real given lines
    kept, seen = [], 0
    for line in lines:  # drop the first len(want_before) non-blank lines
        if seen < len(want_before) and line.strip():
            seen += 1
            continue
        kept.append(line)
    n_after = len(want_after)
    while n_after and kept:
        if kept[-1].strip():
            n_after -= 1
        kept.pop()
    return "\n".join(kept)


def _code(source: str, role: str, label: str | None = None, nonce: str | None = None):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["grader"] = {"role": role, "label": label, "nonce": nonce}
    return cell


def build_graded_notebook(key: nbformat.NotebookNode, submission: nbformat.NotebookNode):
    """The notebook that is executed: the key's cells, the student's answers spliced in.

    Returns ``(notebook, missing)`` where ``missing`` lists the checked exercises the
    submission does not contain."""
    session = secrets.token_hex(16)
    grader = f'__import__("sys").modules["_course_grader_{session}"]'
    key_ex = exercises(key)
    sub_ex = exercises(submission, strict=False)
    check_src = "\n".join(key.cells[i].source for ex in key_ex.values() for i in ex.checks)
    modules = ["companion.exercises"] + sorted(
        {f"companion.exercises.{m}" for m in _CHECK_MODULE.findall(check_src)}
    )
    cells = [
        _code(
            f"import companion.instructor.kernel as _grader_kernel\n"
            f"_grader_kernel.install({session!r}, {modules!r})\ndel _grader_kernel",
            "prelude",
        )
    ]
    missing = [label for label, ex in key_ex.items() if ex.checks and label not in sub_ex]
    placed: set[str] = set()

    def student_block(label: str) -> list:
        placed.add(label)
        ex, mine = key_ex[label], sub_ex.get(label)
        if mine is None:
            return []
        chapter = {tuple(_lines(key.cells[i].source)) for i in ex.cells if i not in ex.solutions}
        theirs = [i for i in mine.cells if tuple(_lines(submission.cells[i].source)) not in chapter]
        parts = [split_solution(key.cells[i].source) for i in ex.solutions]
        out = []

        def given(lines: list[str]) -> list:
            if not _lines("\n".join(lines)):
                return []
            src = "\n".join(lines)
            names = kernel.given_names(src)
            return [_code(f"{src}\n{grader}.freeze({label!r}, {names!r})", "given", label)]

        paired = len(mine.solutions) == len(parts)
        if not paired:
            out += [c for before, _, _ in parts for c in given(before)]
        for i in theirs:
            src = submission.cells[i].source
            if paired and i in mine.solutions:
                before, _, after = parts[mine.solutions.index(i)]
                out += given(before)
                out.append(_code(_answer_part(src, before, after), "answer", label))
                out += given(after)
            else:
                out.append(_code(src, "answer", label))
        if not paired:
            out += [c for _, _, after in parts for c in given(after)]
        return out

    for i, cell in enumerate(key.cells):
        if cell.cell_type != "code":
            continue
        label = next((lb for lb, ex in key_ex.items() if i in ex.cells or i in ex.checks), None)
        if "check" in tags(cell) and label is not None:
            if label in missing:
                continue
            if label not in placed:
                cells += student_block(label)
            nonce = secrets.token_hex(16)
            cells.append(
                _code(
                    f"{grader}.begin({nonce!r}, {label!r}, {kernel.loaded_names(cell.source)!r})\n"
                    f"{cell.source}\n{grader}.end({nonce!r})",
                    "check",
                    label,
                    nonce,
                )
            )
        elif label is not None and i in key_ex[label].solutions:
            if label not in placed:
                cells += student_block(label)
        else:
            cells.append(_code(cell.source, "chapter", label))
    nb = nbformat.v4.new_notebook(metadata=key.metadata)
    nb.cells = cells
    return nb, missing


def _execute(nb, cwd: str, timeout: int, chapter_timeout: int) -> dict[int, str]:
    """Run every cell; returns {index: "timed out" | "kernel died"} for the cells skipped."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    skipped: dict[int, str] = {}
    checked: set[int] = set()
    while True:
        client = NotebookClient(
            nb,
            timeout=timeout,
            allow_errors=True,
            kernel_name="python3",
            shutdown_kernel="immediate",
            resources={"metadata": {"path": cwd}},
        )
        restart = False
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                role = cell.metadata["grader"]["role"]
                if i in skipped or i in checked:
                    continue
                client.timeout = chapter_timeout if role in ("chapter", "prelude") else timeout
                try:
                    client.execute_cell(cell, i)
                except (CellTimeoutError, TimeoutError):
                    skipped[i], restart = "timed out", True
                except DeadKernelError:
                    skipped[i], restart = "kernel died", True
                if restart:
                    break
                if role == "check":
                    checked.add(i)  # its verdict is kept; a replay does not run it again
        if not restart:
            return skipped


def _errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _marker(cell, nonce: str) -> bool:
    for out in cell.get("outputs", []):
        data = out.get("data", {}) if out.get("output_type") == "display_data" else {}
        payload = data.get(kernel.MIME)
        if isinstance(payload, str):
            payload = json.loads(payload)
        if payload == {"nonce": nonce, "status": "passed"}:
            return True
    return False


def _verdict(label: str, cells: list, skipped: dict[int, str]) -> ExerciseResult:
    answers = [(i, c) for i, c in cells if c.metadata["grader"]["role"] != "check"]
    checks = [(i, c) for i, c in cells if c.metadata["grader"]["role"] == "check"]
    if any(e["ename"] == "NotImplementedError" for _, c in answers for e in _errors(c)):
        return ExerciseResult(label, "not attempted", "the stub still raises NotImplementedError")
    for i, _ in answers + checks:
        if i in skipped:
            status = "timed out" if skipped[i] == "timed out" else "error"
            return ExerciseResult(label, status, f"a cell of this exercise {skipped[i]}")
    answer_error = next((e for _, c in answers for e in _errors(c)), None)
    for _, cell in checks:
        errors = _errors(cell)
        if errors and errors[0]["ename"] in _FAILED and answer_error is None:
            return ExerciseResult(label, "failed", errors[0]["evalue"][:500])
        if errors or answer_error:
            e = answer_error or errors[0]
            where = "the answer code" if answer_error else "the check"
            message = f"{where} raised {e['ename']}: {e['evalue']}"
            return ExerciseResult(label, "error", message[:500])
        if not _marker(cell, cell.metadata["grader"]["nonce"]):
            return ExerciseResult(label, "error", "the check did not report a result")
    return ExerciseResult(label, "passed")


def _companion_hashes() -> dict[str, str]:
    return {
        str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((ROOT / "companion").rglob("*.py"))
    }


def default_key(submission: Path) -> Path:
    """The instructor's notebook of the same name in ``book/``."""
    key = ROOT / "book" / submission.name
    if not key.exists():
        raise FileNotFoundError(f"no instructor notebook book/{submission.name}; pass --key")
    return key


def grade(
    submission: str | Path,
    key: str | Path | None = None,
    timeout: int = 60,
    chapter_timeout: int = 600,
) -> Report:
    """Grade ``submission`` against ``key`` (default: ``book/<same name>``).

    ``timeout`` limits each answer or check cell (seconds), ``chapter_timeout`` each cell
    of the instructor's chapter code."""
    submission = Path(submission)
    key = Path(key) if key is not None else default_key(submission)
    key_nb = nbformat.read(key, as_version=4)
    sub_nb = nbformat.read(submission, as_version=4)
    graded, missing = build_graded_notebook(key_nb, sub_nb)
    before = _companion_hashes()
    with tempfile.TemporaryDirectory(prefix="grade-") as cwd:
        skipped = _execute(graded, cwd, timeout, chapter_timeout)
    changed = [p for p, h in _companion_hashes().items() if before.get(p) != h]
    key_ex = exercises(key_nb)
    results = []
    for label, ex in key_ex.items():
        if not ex.checks:
            continue
        if label in missing:
            results.append(ExerciseResult(label, "not attempted", "missing from the submission"))
            continue
        cells = [
            (i, c) for i, c in enumerate(graded.cells) if c.metadata["grader"]["label"] == label
        ]
        results.append(_verdict(label, cells, skipped))
    flags = (
        [f"files of the companion changed on disk while grading: {', '.join(changed)}"]
        if changed
        else []
    )
    flags += suspicious_code(sub_nb)
    return Report(str(submission), str(key), results, flags)


def suspicious_code(nb) -> list[str]:
    """Answer cells of the submission that touch the grader's machinery, for a human to read
    (other code cells are replaced by the instructor's and never run)."""
    found = []
    student = sorted({i for ex in exercises(nb, strict=False).values() for i in ex.cells})
    for i in student:
        hits = [p for p in _SUSPICIOUS if p in nb.cells[i].source]
        if hits:
            found.append(f"cell {i} uses {', '.join(hits)}")
    return found


def grade_folder(folder: str | Path, key: str | Path | None, csv_path: str | Path, **kw):
    """Grade every ``*.ipynb`` in ``folder``; write one CSV row per submission."""
    reports = [grade(p, key, **kw) for p in sorted(Path(folder).glob("*.ipynb"))]
    labels = list(dict.fromkeys(r.label for rep in reports for r in rep.results))
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "passed", "total", *labels, "messages", "review"])
        for rep in reports:
            status = {r.label: r.status for r in rep.results}
            messages = "; ".join(f"{r.label}: {r.message}" for r in rep.results if r.message)
            writer.writerow(
                [Path(rep.submission).name, rep.passed, len(rep.results)]
                + [status.get(label, "") for label in labels]
                + [messages, "; ".join(rep.flags)]
            )
    return reports
