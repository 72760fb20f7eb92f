"""The built book in a real browser: headless Chromium renders pages and runs the search.

Skipped where Chromium is not installed; `.ci/run` installs Debian's package so CI runs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from tests.bookinfo import ROOT

HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed"),
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built"),
]
# The network is closed: keep Chromium from trying to reach any service of its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_chapter_renders_with_content(tmp_path):
    shot = tmp_path / "chapter.png"
    url = (HTML / "book" / "ch01_history.html").as_uri()
    chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--virtual-time-budget=5000",
        url,
    )
    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 1000
    # a rendered page has text and figures: many distinct grey levels, not a blank canvas
    assert pixels[..., :3].std() > 0.05


def test_offline_search_finds_chapters(tmp_path):
    url = (HTML / "search.html").as_uri() + "?q=backpropagation"
    dom = chromium(tmp_path, "--virtual-time-budget=15000", "--dump-dom", url)
    assert 'id="search-results"' in dom
    results = dom.split('id="search-results"', 1)[1]
    assert results.count("<li") >= 2, "search returned fewer than two pages"
