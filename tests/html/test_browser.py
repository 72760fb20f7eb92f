"""The built book in a real browser, offline: headless Chromium opens every page (issue 17).

Checks what a reader sees once the scripts have run: the maths typeset by the book's own
copy of MathJax (no CDN; no raw ``$$`` or ``\\(`` left, no TeX error), every image loaded,
no error output, the Colab and Binder buttons pointing at this notebook in this repository,
and the search page finding a term. Three screenshots stay in ``_build/screenshots/``.

Skipped where Chromium is not installed; `.ci/run` installs Debian's package so CI runs it.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.bookinfo import config
from tests.html.browser import CHROMIUM, Browser
from tests.html.site import HTML, SCREENSHOTS, SOURCE, built_pages, home_page, is_notebook

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed"),
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built"),
]
PAGES = built_pages()
NOTEBOOKS = [p for p in PAGES if is_notebook(p)]
SEARCH_TERM = "backpropagation"
SEARCH_STEM = "backpropag"  # Sphinx's search stems words: a hit may say "backpropagate"

INSPECT = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(i => {
    i.loading = 'eager';
    return i.decode().catch(() => null);
  }));
  const article = document.querySelector('article') || document.body;
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, .highlight, mjx-container, script, style, textarea')
    .forEach(n => n.remove());
  const math = [...document.querySelectorAll('span.math, div.math')];
  return {
    mathjax: [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s)),
    math: math.length,
    typeset: math.filter(m => m.querySelector('mjx-container')).length,
    texErrors: document.querySelectorAll('mjx-merror').length,
    raw: ['$$', '\\(', '\\[', '\\begin{'].filter(t => prose.textContent.includes(t)),
    images: [...document.images].map(i => ({
      src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    errors: document.querySelectorAll(
      '.output.error, .output.traceback, .output.stderr').length,
    traceback: document.body.innerText.includes('Traceback (most recent call last)'),
    colab: [...document.querySelectorAll('a[href*="colab.research.google.com"]')]
      .map(a => a.href),
    binder: [...document.querySelectorAll('a[href*="mybinder.org"]')].map(a => a.href),
  };
})()
"""

SEARCH = r"""
(async () => {
  for (let i = 0; i < 200; i++) {
    const hits = document.querySelectorAll('#search-results li a');
    if (hits.length) return [...hits].map(a => a.getAttribute('href'));
    await new Promise(r => setTimeout(r, 100));
  }
  return [];
})()
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def seen(browser):
    """What the browser shows on each page (inspected once per page, on first use)."""
    cache: dict[str, dict] = {}

    def inspect(entry: str) -> dict:
        if entry not in cache:
            browser.open((HTML / f"{entry}.html").as_uri())
            cache[entry] = browser.evaluate(INSPECT)
        return cache[entry]

    return inspect


def test_mathjax_is_the_books_own_copy():
    local = HTML / "_static" / "mathjax" / "tex-mml-chtml.js"
    assert local.is_file(), "run `make mathjax`: the book serves MathJax itself"
    for page in PAGES:
        html = (HTML / f"{page}.html").read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', html, re.I)
        assert all("://" not in s for s in scripts), f"{page} loads MathJax from {scripts}"


@pytest.mark.parametrize("entry", PAGES)
def test_maths_is_typeset(entry, seen):
    page = seen(entry)
    if page["math"]:
        assert page["mathjax"], f"{entry} has maths but no MathJax"
    assert page["typeset"] == page["math"], f"{entry}: {page['math'] - page['typeset']} untypeset"
    assert page["texErrors"] == 0, f"{entry}: MathJax reports {page['texErrors']} TeX errors"
    assert not page["raw"], f"{entry} shows raw TeX delimiters {page['raw']}"


@pytest.mark.parametrize("entry", PAGES)
def test_every_image_loads(entry, seen):
    broken = [i["src"] for i in seen(entry)["images"] if not i["ok"]]
    assert not broken, f"{entry}: images that did not load: {broken}"


@pytest.mark.parametrize("entry", PAGES)
def test_no_page_shows_error_output(entry, seen):
    page = seen(entry)
    assert page["errors"] == 0 and not page["traceback"], f"{entry} shows error output"


@pytest.mark.parametrize("entry", NOTEBOOKS)
def test_launch_buttons_open_this_notebook(entry, seen):
    repo = config()["repository"]["url"].removeprefix("https://github.com/")
    branch = config()["repository"].get("branch", "main")
    page = seen(entry)
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{entry}.ipynb"
    binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=tree/{entry}.ipynb"
    assert page["colab"] == [colab], page["colab"]
    assert page["binder"] == [binder], page["binder"]
    assert (SOURCE / f"{entry}.ipynb").is_file()


def test_search_finds_a_term(browser):
    browser.open((HTML / "search.html").as_uri() + f"?q={SEARCH_TERM}")
    hits = browser.evaluate(SEARCH)
    assert hits, f"the search page found nothing for {SEARCH_TERM!r}"
    for href in hits:  # every hit really is a page that uses the term
        page = (HTML / href.split("#")[0].split("?")[0]).read_text(encoding="utf-8")
        text = unescape(re.sub(r"<[^>]+>", " ", page)).lower()
        assert SEARCH_STEM in text, f"search hit {href} does not contain {SEARCH_TERM!r}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / "search.png")


def test_screenshots_of_a_page_and_a_chapter_are_kept(browser, seen):
    import matplotlib.image as mpimg

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chapter = NOTEBOOKS[0] if NOTEBOOKS else PAGES[0]
    for name, entry in (
        ("home", home_page()),
        ("chapter", chapter),
    ):
        seen(entry)  # typeset and images loaded
        browser.open((HTML / f"{entry}.html").as_uri())
        browser.evaluate("MathJax.startup.promise" if seen(entry)["math"] else "1")
        browser.screenshot(SCREENSHOTS / f"{name}.png")
        pixels = mpimg.imread(SCREENSHOTS / f"{name}.png")
        assert pixels.shape[:2] == (1600, 1280)
        assert pixels[..., :3].std() > 0.05, f"the screenshot of {entry} is blank"
