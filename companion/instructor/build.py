"""The student edition: every chapter's student notebook and an HTML book without solutions.

``build_student_book(out)`` executes each chapter notebook of the book (the instructor's,
so that figures and glued numbers exist), turns it into the student version keeping the
outputs of the chapter's own cells (answer and check cells lose theirs: they show the
answers), and builds that book with execution switched off. Solutions are removed, not
hidden: neither their code nor their prose is in the student notebooks or the HTML.

Writes ``out/<chapter>.ipynb`` (no outputs, for students to work in) and ``out/html/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from companion.instructor.student import student_version

ROOT = Path(__file__).resolve().parents[2]


def _toc_files(toc: dict) -> list[str]:
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for key, value in node.items():
                if key != "root":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def build_student_book(out: Path, root: Path = ROOT) -> Path:
    """Write the student notebooks and the student HTML book under ``out``; return the HTML dir."""
    out, root = Path(out).resolve(), Path(root).resolve()
    stage = out / "_book_src"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    shutil.copy(root / "_toc.yml", stage / "_toc.yml")
    for entry in _toc_files(toc):  # copy each page's folder once (figures, bib files, parts)
        top = Path(entry).parts[0]
        src = root / top
        if src.is_dir() and not (stage / top).exists():
            shutil.copytree(src, stage / top, ignore=shutil.ignore_patterns("*.ipynb_checkpoints"))
        elif not src.is_dir():
            for suffix in (".md", ".ipynb"):
                if (root / (entry + suffix)).exists():
                    shutil.copy(root / (entry + suffix), stage / (entry + suffix))
    for static in config.get("sphinx", {}).get("config", {}).get("html_static_path", []):
        if (root / static).is_dir():
            shutil.copytree(root / static, stage / static, dirs_exist_ok=True)
    for entry in _toc_files(toc):
        path = stage / (entry + ".ipynb")
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        nbformat.write(student_version(nb), out / path.name)
        executed = execute(nb, path.parent)
        nbformat.write(student_version(executed, keep_outputs=True), path)
        print(f"student version of {entry}")
    config["title"] = f"{config.get('title', 'Book')} (student edition)"
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (stage / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    subprocess.run(
        [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]
        + ["build", str(stage), "--builder", "html"],
        check=True,
    )
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(stage / "_build" / "html", html)
    return html
