"""Every number in the Chapter 1 errata rows (book/appendix/errata_parts/ch01.md) is
recomputed here from the companion's models (or from source document 000 itself) and must
appear, formatted, in its row. Published figures that cannot be computed (a paper's error
rates, page numbers, years) are bibliographic facts with a {cite} in the same row."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from companion.architectures import alexnet, dqn, resnet50, resnet152, vgg16
from companion.bert import BERT_BASE, BERT_LARGE, Bert
from companion.parameters import count_on_meta
from companion.transformer import GPT, GPT3_175B

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = ROOT / "book" / "appendix" / "errata_parts" / "ch01.md"
SEEDS = ROOT.parent / "shared" / "seeds"


def rows() -> dict[str, str]:
    found = {}
    for line in FRAGMENT.read_text().splitlines():
        m = re.match(r"\| (1\.\d+) \|", line)
        if m:
            found[m.group(1)] = line
    return found


def test_rows_are_numbered_consecutively_and_cite():
    numbers = list(rows())
    assert numbers == [f"1.{k}" for k in range(1, len(numbers) + 1)]
    for number, line in rows().items():
        assert "{cite}" in line or line.rstrip().endswith("| — |"), number


def test_no_row_blames_the_author_for_web_formatting():
    text = FRAGMENT.read_text()
    for phrase in ("cut off", "truncated", "garbled", "formatting", "rendering"):
        assert phrase not in text, f"{phrase!r}: a web page's damage is not the author's error"
    assert "138兆" not in text.split("| 1.5 |")[0]  # 138兆 = 138 million under 兆 = 10^6: no row


@pytest.mark.parametrize(
    "row, builder, formatted",
    [
        ("1.2", dqn, "{:,}"),
        ("1.5", alexnet, "{:,}"),
        ("1.5", lambda: alexnet(grouped=False), "{:,}"),
        ("1.5", vgg16, "{:,}"),
        ("1.6", resnet50, "{:,}"),
        ("1.6", resnet152, "{:,}"),
        ("1.7", lambda: Bert(BERT_BASE), "{:,}"),
        ("1.7", lambda: Bert(BERT_LARGE), "{:,}"),
        ("1.8", lambda: GPT(GPT3_175B), "{:,}"),
    ],
)
def test_parameter_counts_in_the_rows(row, builder, formatted):
    count = count_on_meta(builder)
    assert formatted.format(count) in rows()[row], (row, count)


def test_bert_and_gpt3_as_the_source_writes_them():
    # 001 §1: BERT 340亿 (3.4e10), GPT-3 175亿 (1.75e10): BERT 1.9 times GPT-3
    assert f"{3.4e10 / 1.75e10:.1f} times as large" in rows()["1.8"]
    n = count_on_meta(lambda: GPT(GPT3_175B))
    assert f"{round(n / 1e8) * 100:,}M" in rows()["1.8"]  # Table D.1's 174,600M
    # the claims quoted in rows 1.5-1.8 are what document 001 says
    if SEEDS.is_dir():
        (doc,) = SEEDS.glob("001_*.txt")
        text = doc.read_text()
        for quoted in (
            "AlexNet有500万个参数",
            "VGG有138兆个参数",
            "ResNet有3.5亿个参数",
            "2017年的BERT有340亿个参数",
            "GPT-3有175亿个参数",
        ):
            assert quoted in text


def _reference_list() -> list[tuple[int, str]]:
    if not SEEDS.is_dir():
        pytest.skip("the source documents are not next to this checkout")
    (doc,) = SEEDS.glob("000_*.txt")
    return [(int(n), body) for n, body in re.findall(r"^\[(\d+)\]\s*(.+)$", doc.read_text(), re.M)]


def test_reference_list_counts():
    entries = _reference_list()
    norm = [re.sub(r"\W+", " ", body.lower()).strip() for _, body in entries]
    works: list[str] = []
    for e in sorted(set(norm), key=len, reverse=True):
        if not any(w.startswith(e) for w in works):  # a truncated entry is the same work
            works.append(e)
    copies = Counter(next(w for w in works if w.startswith(e)) for e in norm)
    repeated = sum(1 for c in copies.values() if c >= 3)
    row = rows()["1.19"]
    assert f"A reference list of {len(entries)} entries." in row
    assert f"only {len(works)} distinct works; {repeated} of them appear three or four times" in row
    assert max(copies.values()) == 4 and len(entries) == 54 and len(works) == 16
