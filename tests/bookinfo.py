"""What the book-rule tests need to know about the book: its toc, notebooks and config."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SETUP_TAG = "setup"


@cache
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@cache
def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files() -> list[str]:
    """Every page named in _toc.yml (root first), as paths without suffix."""
    found = [toc()["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc().items() if k != "root"})
    return found


def page_path(entry: str) -> Path:
    """The file behind a toc entry (.ipynb or .md)."""
    for suffix in (".ipynb", ".md"):
        if (ROOT / (entry + suffix)).exists():
            return ROOT / (entry + suffix)
    raise FileNotFoundError(f"toc entry {entry!r} has no .ipynb or .md file")


def notebooks_on_disk() -> list[Path]:
    skip = {".ipynb_checkpoints", "_build", ".pytest_cache"}
    return sorted(p for p in BOOK.rglob("*.ipynb") if not skip & set(p.parts))


def chapter_notebooks() -> list[Path]:
    """Notebooks whose name starts with chNN_ or chNNx_ (a chapter split in two notebooks,
    such as ch14b_): the chapters that follow the template."""
    return [p for p in notebooks_on_disk() if re.match(r"ch\d\d[a-z]?_", p.name)]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def markdown_text(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def all_page_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = read(path)
        return "\n".join(c.source for c in nb.cells)
    return path.read_text()


def errata_fragment(name: str) -> str:
    """The text of one errata fragment, ``book/appendix/errata_parts/<name>.md``."""
    return (BOOK / "appendix" / "errata_parts" / f"{name}.md").read_text(encoding="utf-8")


def errata_row(text: str, key: str) -> str:
    """The one table row of an errata fragment that starts with ``| key |``."""
    lines = [line for line in text.splitlines() if line.startswith(f"| {key} |")]
    assert len(lines) == 1, f"expected one row {key}, found {len(lines)}"
    return lines[0]
