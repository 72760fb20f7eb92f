"""The command line: ``python -m companion.instructor student|instructor|book|grade``."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from companion.instructor.grade import grade, grade_folder
from companion.instructor.student import instructor_version, student_version


def _write_versions(paths: list[Path], out: Path, make) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = out / path.name
        nbformat.write(make(nbformat.read(path, as_version=4)), target)
        print(f"wrote {target}")


def main(argv: list[str] | None = None) -> int:
    import companion.instructor as package

    parser = argparse.ArgumentParser(
        prog="python -m companion.instructor",
        description=package.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("student", "student notebooks: solutions removed, stubs left, nbgrader metadata"),
        ("instructor", "instructor notebooks: outputs cleared, nbgrader metadata"),
    ]:
        s = sub.add_parser(name, help=text)
        s.add_argument("notebooks", nargs="+", type=Path)
        s.add_argument("--out", type=Path, default=Path(name))
    b = sub.add_parser("book", help="build the student HTML book (solutions removed)")
    b.add_argument("--out", type=Path, default=Path("student"))
    b.add_argument("--root", type=Path, default=None, help="book root (default: this repository)")
    g = sub.add_parser("grade", help="grade a submission (or a folder of them) against the key")
    g.add_argument("submission", type=Path, help="a notebook, or a folder of notebooks")
    g.add_argument("--key", type=Path, help="instructor notebook (default: book/<same name>)")
    g.add_argument("--timeout", type=int, default=60, help="seconds per answer or check cell")
    g.add_argument("--json", type=Path, help="write the report as JSON here")
    g.add_argument("--csv", type=Path, help="folder mode: the CSV to write (default grades.csv)")
    args = parser.parse_args(argv)

    if args.command in ("student", "instructor"):
        for path in args.notebooks:
            if not path.exists():
                parser.error(f"no such notebook: {path}")
        make = student_version if args.command == "student" else instructor_version
        _write_versions(args.notebooks, args.out, make)
        return 0
    if args.command == "book":
        from companion.instructor.build import build_student_book

        kwargs = {"root": args.root} if args.root else {}
        print(f"student book written to {build_student_book(args.out, **kwargs)}/index.html")
        return 0
    if args.submission.is_dir():
        target = args.csv or args.submission / "grades.csv"
        reports = grade_folder(args.submission, args.key, target, timeout=args.timeout)
        for report in reports:
            print(report.table(), end="\n\n")
        print(f"wrote {target}")
        return 0
    report = grade(args.submission, args.key, timeout=args.timeout)
    print(report.table())
    if args.json:
        args.json.write_text(report.to_json(), encoding="utf-8")
    return 0 if report.passed == len(report.results) else 1
