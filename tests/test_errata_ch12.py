"""The Chapter 12 errata rows: structure, sources, and the documented figures they quote.

The rows correct descriptions of deployments; their numbers are not computed by the book but
quoted from the cited primary sources. This test pins each number to the row and the source
it comes from, so that a number cannot enter the fragment without one.
"""

from __future__ import annotations

import re

import pytest

from tests.bookinfo import errata_fragment, errata_row

# number as written in the row -> (row, bibliography key that documents it)
QUOTED = {
    "12,000": ("12.3", "son2017jpmorgan"),
    "360,000": ("12.3", "son2017jpmorgan"),
    "2017": ("12.3", "son2017jpmorgan"),
    "40%": ("12.4", "evans2016deepmind"),
    "36": ("12.4", "witherspoon2019wind"),
    "20%": ("12.4", "witherspoon2019wind"),
    "K190362": ("12.5", "fda2019healthpnx"),
    "2019": ("12.5", "fda2019healthpnx"),
    "510(k)": ("12.5", "fda2019healthpnx"),
}


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch12")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch12)=\n## Chapter 12: Commercial use cases\n")


def test_rows_are_numbered_in_order(text):
    keys = re.findall(r"^\| (12\.\d+) \|", text, flags=re.M)
    assert keys == [f"12.{i}" for i in range(1, len(keys) + 1)] and len(keys) >= 8


@pytest.mark.parametrize("number, where", QUOTED.items())
def test_quoted_numbers_sit_in_a_row_citing_their_source(text, number, where):
    row_key, bib_key = where
    row = errata_row(text, row_key)
    assert number in row
    assert bib_key in row


def test_no_unaccounted_numbers(text):
    """Every number in the rows (besides row keys and section numbers) is in QUOTED."""
    for key in re.findall(r"^\| (12\.\d+) \|", text, flags=re.M):
        row = errata_row(text, key)
        body = "|".join(row.split("|")[3:5])  # the claim and the correction
        body = re.sub(r"§\s?\d+(\.\d+)*", "", body)  # section references
        body = re.sub(r"Chapter 12", "", body)
        body = re.sub(r"level 2", "", body)  # SAE level, cited in the row
        for number in re.findall(r"\d[\d,.]*%?", body):
            number = number.rstrip(".,")
            assert any(number in q or q.startswith(number) for q in QUOTED), (key, number)


def test_cited_keys_exist():
    from pathlib import Path

    bib = (Path(__file__).parents[1] / "book" / "references.bib").read_text(encoding="utf-8")
    for key in {k for _, k in QUOTED.values()} | {
        "devlin2019bert",
        "sae2021j3016",
        "tesla2021aiday",
        "lazic2018data",
        "cfpb2022circular",
        "goodfellow2016deep",
        "hyndman2021forecasting",
    }:
        assert "{" + key + "," in bib, key
