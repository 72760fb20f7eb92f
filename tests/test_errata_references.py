"""The errata rows on the source documents' reference lists (errata_parts/references.md).

The counts in the fragment's paragraph are recomputed from the source documents, each row
quotes something the documents really contain, no row repeats one of the chapter tables,
and every cited key exists. The source documents live outside the repository
(``../shared/seeds``); the tests that read them skip where they are absent (a fresh clone).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ROOT / "book" / "appendix" / "errata_parts"
FRAGMENT = PARTS / "references.md"
SEEDS = ROOT.parent / "shared" / "seeds"


def rows() -> list[list[str]]:
    lines = [ln for ln in FRAGMENT.read_text().splitlines() if ln.startswith("| R.")]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]


def seed(prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip("the source documents are not next to this checkout")
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text()


def test_rows_are_numbered_and_cite_existing_keys():
    table = rows()
    assert [r[0] for r in table] == [f"R.{k}" for k in range(1, len(table) + 1)]
    bib = set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text()))
    for r in table:
        keys = re.findall(r"\{cite\}`([^`]+)`", r[4])
        assert keys, f"{r[0]} cites nothing"
        for key in keys[0].split(","):
            assert key in bib, f"{r[0]}: unknown key {key}"
    assert FRAGMENT.read_text().startswith("(errata-references)=\n## References cited")


def distinct_works(entries: list[str]) -> list[str]:
    """Entries of a reference list, compared case-insensitively; a truncated entry (a prefix
    of another) is the same work."""
    norm = sorted({e.lower().strip() for e in entries}, key=len, reverse=True)
    kept: list[str] = []
    for e in norm:
        if not any(k.startswith(e) for k in kept):
            kept.append(e)
    return kept


def test_counts_in_the_paragraph_match_the_source_documents():
    text = seed("000")
    entries = re.findall(r"^\[(\d+)\] (.+)$", text, flags=re.M)
    numbers = [int(n) for n, _ in entries]
    assert numbers == list(range(1, 55))  # 54 entries
    works_000 = distinct_works([body for _, body in entries])
    assert len(works_000) == 16
    paragraph = FRAGMENT.read_text()
    assert "list of 54\nentries (16 distinct works" in paragraph
    assert "23 distinct works (16 in 000, 9 in 003" in paragraph


# what each row says the documents contain (exact strings of the documents)
QUOTED = {
    "R.1": ("000", "Cho, K., Van Merriënboer, B., Bahdanau, D., & Bengio, Y. (2014)"),
    "R.2": ("003", "Arulkumaran, K., Nathaniel, B. A., & Maycan, T. (2017). Deep learning"),
    "R.3": ("003", "Recurrent Neural Networks”（Y. Li et al.）"),
    "R.4": ("003", "“Recurrent Neural Networks for Language Modeling”（Y. Bengio et al.）"),
    "R.5": ("003", "Chollet, F. (2017). Python深度学习. 机械工业出版社."),
}


@pytest.mark.parametrize("row", sorted(QUOTED))
def test_each_row_describes_what_the_document_says(row):
    doc, quoted = QUOTED[row]
    assert quoted in seed(doc)
    (where,) = [r[1] for r in rows() if r[0] == row]
    assert where.startswith(doc)


def test_no_row_repeats_a_chapter_table():
    chapters = "\n".join(p.read_text() for p in sorted(PARTS.glob("ch0*.md")))
    for marker in ("Gulcehre", "Deng", "Ghahramani", "Mikolov", "Chollet", "cho2014"):
        assert marker in FRAGMENT.read_text()
        assert marker not in chapters, f"{marker} is already corrected in a chapter table"


def checklist() -> list[list[str]]:
    """The rows of the "Every cited work, checked" table."""
    text = FRAGMENT.read_text().split("### Every cited work, checked", 1)[1]
    lines = [ln for ln in text.splitlines() if ln.startswith("| 00")]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]


def test_checklist_names_every_work_once_with_a_verdict():
    table = checklist()
    assert len(table) == 23  # 16 works in 000, 9 in 003, two of them shared
    # every numbered entry of 000's list is in exactly one row
    numbers = [int(n) for r in table for n in re.findall(r"\[(\d+)\]", r[0].split(";")[0])
               if r[0].startswith("000")]  # fmt: skip
    assert sorted(numbers) == list(range(1, 55))
    # and 003's six numbered entries (§10) too
    numbered_003 = [int(n) for r in table for n in re.findall(r"§10 \[(\d+)\]", r[0])]
    assert sorted(numbered_003) == list(range(1, 7))
    ch01 = (PARTS / "ch01.md").read_text()
    own = {r[0] for r in rows()}
    for cited, _, verdict in table:
        if verdict.startswith("Correct"):
            assert "{cite}`" in verdict, cited
            continue
        (row,) = re.findall(r"row ((?:\d+|R)\.\d+)", verdict)
        if row.startswith("R."):
            assert row in own, f"{cited}: {row} is not a row of this table"
        else:
            assert f"| {row} | 000 refs" in ch01, f"{cited}: {row} is not a '000 refs' row"
