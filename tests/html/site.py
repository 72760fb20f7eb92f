"""Where the built book is, and its pages (shared by the built-HTML and browser checks).

``BOOK_HTML=/path/to/_build/html`` points the checks at another build (a tiny book built
from fixtures while developing them); by default they read this repository's build.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.bookinfo import ROOT

HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SOURCE = HTML.parents[1]  # the book's root: _build/html sits in it
SCREENSHOTS = HTML.parent / "screenshots"
_NOT_PAGES = {"_static", "_sources", "_images", "genindex", "search", "_sphinx_design_static"}


def built_pages() -> list[str]:
    """Every page of the build, as paths without suffix (``book/ch01_history``)."""
    if not HTML.is_dir():
        return []
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML).with_suffix("")
        redirect = 'http-equiv="Refresh"' in path.read_text(encoding="utf-8")[:2000]
        if not _NOT_PAGES & {rel.parts[0], rel.name} and not redirect:
            pages.append(rel.as_posix())
    return pages


def home_page() -> str:
    """The root page of the toc (index.html only redirects to it)."""
    return yaml.safe_load((SOURCE / "_toc.yml").read_text())["root"]


def is_notebook(entry: str) -> bool:
    return (SOURCE / f"{entry}.ipynb").exists()
