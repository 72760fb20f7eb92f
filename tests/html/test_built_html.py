"""Checks on the built HTML book (run by `make test` after the strict build).

A reader of the published book never runs anything, so what they see is checked here:
every page exists, no page shows an error or a traceback, launch buttons point at real
notebooks in this repository, solutions are hidden dropdowns, the bibliography is filled.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from tests.bookinfo import ROOT, config, toc_files
from tests.html.site import HTML, built_pages

pytestmark = pytest.mark.skipif(
    not (HTML / "index.html").exists(), reason="book not built (run `make build-strict` first)"
)


def page(entry: str) -> str:
    return (HTML / f"{entry}.html").read_text(encoding="utf-8")


PAGES = toc_files()
CHAPTERS = [e for e in PAGES if re.search(r"/ch\d\d_", e)]


@pytest.mark.parametrize("entry", PAGES)
def test_every_toc_page_was_built(entry):
    assert (HTML / f"{entry}.html").exists()


@pytest.mark.parametrize("entry", PAGES)
def test_no_page_shows_an_error(entry):
    html = page(entry)
    for marker in (
        'class="output traceback',
        'class="output error',
        "Traceback (most recent",
        "NotImplementedError",
    ):
        assert marker not in html, f"{entry}.html shows {marker!r}"
    assert 'class="output stderr' not in html, f"{entry}.html shows stderr output"


@pytest.mark.parametrize("entry", CHAPTERS)
def test_launch_buttons_point_at_this_notebook(entry):
    html = page(entry)
    repo = config()["repository"]["url"].removeprefix("https://github.com/")
    colab = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', html)
    assert colab, f"{entry}: no Colab launch button"
    path = unquote(colab[0]).split(f"github/{repo}/blob/main/", 1)[1]
    assert (ROOT / path).is_file(), f"Colab button points at {path}, which is not in the repo"
    assert f"mybinder.org/v2/gh/{repo}/main" in html, f"{entry}: no Binder launch button"


@pytest.mark.parametrize("entry", CHAPTERS)
def test_solutions_are_hidden_dropdowns_and_math_renders(entry):
    html = page(entry)
    assert html.count('class="admonition exercise') >= 3 or html.count("exercise") >= 3
    solutions = re.findall(r'<div class="(solution[^"]*)"', html)
    assert solutions, f"{entry}: no solutions rendered"
    assert all("dropdown" in cls for cls in solutions), f"{entry}: a solution is not a dropdown"
    assert "mathjax" in html.lower()


def test_bibliography_lists_references():
    html = page("book/appendix/bibliography")
    assert html.count('class="citation"') >= 10


@pytest.mark.parametrize("entry", CHAPTERS)
def test_glued_numbers_were_filled_in(entry):
    html = page(entry)
    assert "{glue" not in html and "glue:text" not in html


class _Images(HTMLParser):
    """Collects the <img> tags that have neither alt text nor a captioned <figure> around them.

    An alt that is only the image's file name (what myst-nb writes without metadata) is no
    alt text."""

    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []  # open <figure>s: their caption text, images without alt
        self.in_caption = 0
        self.bad: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure":
            self.figures.append({"caption": "", "missing": []})
        elif tag == "figcaption":
            self.in_caption += 1
        elif tag == "img":
            alt = (a.get("alt") or "").strip()
            if not alt or re.search(r"(_images/|\.(png|jpe?g|svg|gif)$)", alt):
                (self.figures[-1]["missing"] if self.figures else self.bad).append(a.get("src"))

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self.in_caption -= 1
        elif tag == "figure" and self.figures:
            figure = self.figures.pop()
            if not figure["caption"].strip():
                self.bad += figure["missing"]

    def handle_data(self, data):
        if self.in_caption and self.figures:
            self.figures[-1]["caption"] += data


def images_without_alt_or_caption(html: str) -> list[str]:
    parser = _Images()
    parser.feed(html)
    return parser.bad


def test_the_alt_text_check_catches_what_it_should():
    assert images_without_alt_or_caption('<img src="a.png" alt="A rising line">') == []
    assert images_without_alt_or_caption('<img src="a.png">') == ["a.png"]
    assert images_without_alt_or_caption('<img src="_images/a.png" alt="_images/a.png">')
    captioned = '<figure><img src="a.png"><figcaption><p>Figure 1 A line</p></figcaption></figure>'
    assert images_without_alt_or_caption(captioned) == []
    assert images_without_alt_or_caption(
        "<figure><img src='a.png'><figcaption> </figcaption></figure>"
    )


@pytest.mark.parametrize("entry", built_pages())
def test_every_image_has_alt_text_or_a_caption(entry):
    html = (HTML / f"{entry}.html").read_text(encoding="utf-8")
    bad = images_without_alt_or_caption(html)
    assert not bad, (
        f"{entry}: images without alt text or caption {bad}; give the cell myst-nb metadata "
        '{"mystnb": {"figure": {"caption": ..., "name": ...}, "image": {"alt": ...}}}'
    )
