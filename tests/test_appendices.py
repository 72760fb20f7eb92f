"""Rules for the appendices (issue 16): their order and titles, the bibliography, the glossary.

1. The Appendices part of ``_toc.yml`` holds A FAQ, B Tools, C Errata, D Glossary, E Notation,
   F Performance, then the Bibliography, in that order, each page titled with its letter.
2. ``book/references.bib``: no work entered twice (same DOI, or same title and first author),
   every entry cited somewhere in ``book/`` and every cited key defined.
3. Every term a chapter introduces in bold with its Chinese name, ``**term** (中文)``, is a
   glossary term (or the parentheses link one with ``{term}``), and every glossary term is used
   in some chapter (by a ``{term}`` role or in plain text).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bookinfo import BOOK, markdown_text, notebooks_on_disk, page_path, read, toc
from tests.test_book_rules import _TERM_ROLE, _term_target, glossary_entries

# --- 1. the appendices, lettered in order ----------------------------------------------------

EXPECTED = [
    ("book/appendix/faq", "A. Frequently asked questions"),
    ("book/appendix/tools", "B. Tools and resources"),
    ("book/appendix/errata", "C. Errata of the source documents"),
    ("book/appendix/glossary", "D. Glossary"),
    ("book/appendix/notation", "E. Notation"),
    ("book/appendix/performance", "F. Performance"),
    ("book/appendix/bibliography", "Bibliography"),
]


def title_of(path: Path) -> str:
    """The first level-1 heading of a page (markdown cells only for a notebook)."""
    text = markdown_text(read(path)) if path.suffix == ".ipynb" else path.read_text()
    found = re.search(r"^# (.+)$", text, re.M)
    assert found, f"{path} has no level-1 heading"
    return found.group(1).strip()


def appendix_part() -> list[str]:
    parts = [p for p in toc()["parts"] if p.get("caption") == "Appendices"]
    assert len(parts) == 1, "the toc needs exactly one part captioned 'Appendices'"
    return [c["file"] for c in parts[0]["chapters"]]


def test_appendices_are_in_the_toc_in_letter_order():
    assert appendix_part() == [entry for entry, _ in EXPECTED]


@pytest.mark.parametrize("entry,title", EXPECTED, ids=[e.rsplit("/", 1)[1] for e, _ in EXPECTED])
def test_each_appendix_carries_its_letter(entry, title):
    assert title_of(page_path(entry)).startswith(title)


def test_the_title_checker_rejects_a_wrong_letter(tmp_path):
    page = tmp_path / "x.md"
    page.write_text("(x)=\n# G. Glossary\n")
    assert not title_of(page).startswith("D. Glossary")


# --- 2. the bibliography ------------------------------------------------------------------------

_ENTRY = re.compile(r"^@(\w+)\{([^,\s]+),(.*?)^\}", re.M | re.S)
_CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def _field(body: str, name: str) -> str:
    """A field's value with braces and spacing removed (enough to compare entries)."""
    m = re.search(rf"^\s*{name}\s*=\s*(.+?),?\s*$", body, re.M | re.I)
    return "" if m is None else m.group(1)


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\\.", "", text.lower()))


def bib_entries(text: str | None = None) -> dict[str, dict[str, str]]:
    """key -> {type, title, doi, first} (first: the first author's surname, normalised)."""
    if text is None:
        text = (BOOK / "references.bib").read_text()
    entries = {}
    for kind, key, body in _ENTRY.findall(text):
        author = _field(body, "author") or _field(body, "editor")
        first = author.strip("{}").split(" and ")[0]
        surname = first.split(",")[0] if "," in first else first.split()[-1] if first else ""
        entries[key] = {
            "type": kind.lower(),
            "title": normalise(_field(body, "title")),
            "doi": _field(body, "doi").strip("{}").lower(),
            "first": normalise(surname),
            "ids": " ".join(sorted(identifiers(body))),
        }
    return entries


def identifiers(body: str) -> set[str]:
    """Identifiers written anywhere in an entry: arXiv numbers, URLs, EU regulation numbers."""
    found = {f"arxiv:{m}" for m in re.findall(r"(?<![\d.])(\d{4}\.\d{4,5})(?![\d.])", body)}
    found |= {f"url:{u.rstrip('/').lower()}" for u in re.findall(r"\\url\{([^}]+)\}", body)}
    found |= {f"eu:{m}" for m in re.findall(r"\(\{?EU\}?\) (\d{4}/\d+)", body)}
    return found


def duplicates(entries: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """Pairs of keys that name the same work: same DOI, same title and first author, or the
    same arXiv number, URL or regulation number."""
    found, by_doi, by_title, by_id = [], {}, {}, {}
    for key, e in entries.items():
        if e["doi"]:
            if e["doi"] in by_doi:
                found.append((by_doi[e["doi"]], key))
            by_doi[e["doi"]] = key
        for ident in e["ids"].split():
            if ident in by_id and (by_id[ident], key) not in found:
                found.append((by_id[ident], key))
            by_id[ident] = key
        ident = (e["title"], e["first"])
        if e["title"]:
            if ident in by_title:
                found.append((by_title[ident], key))
            by_title[ident] = key
    return found


def book_sources() -> list[Path]:
    skip = {"_build", ".ipynb_checkpoints", ".pytest_cache"}
    return sorted(
        p for p in BOOK.rglob("*") if p.suffix in {".md", ".ipynb"} and not skip & set(p.parts)
    )


def cited_keys() -> dict[str, str]:
    """key -> the first file (relative to book/) that cites it."""
    found: dict[str, str] = {}
    for path in book_sources():
        text = path.read_text()
        for group in _CITE.findall(text):
            for key in group.split(","):
                found.setdefault(key.strip(), str(path.relative_to(BOOK)))
    return found


def test_bibliography_parses_every_entry():
    text = (BOOK / "references.bib").read_text()
    assert len(bib_entries()) == len(re.findall(r"^@\w+\{", text, re.M)) >= 100


def test_no_work_is_entered_twice():
    assert duplicates(bib_entries()) == []


def test_duplicate_finder_catches_same_doi_and_same_title():
    bib = """@article{a2015,
  author = {LeCun, Yann and Bengio, Yoshua},
  title = {Deep learning},
  doi = {10.1038/nature14539},
}
@article{b2015,
  author = {Yann LeCun and Hinton, Geoffrey},
  title = {{Deep} Learning},
}
@book{c2016,
  author = {Goodfellow, Ian},
  title = {Deep Learning},
}
@misc{d2015,
  author = {Someone, Else},
  title = {Another},
  doi = {10.1038/NATURE14539},
}
"""
    assert duplicates(bib_entries(bib)) == [("a2015", "b2015"), ("a2015", "d2015")]
    same_law = """@misc{law1,
  title = {Regulation ({EU}) 2024/1689 laying down rules on AI, Article 51},
}
@misc{law2,
  title = {Regulation ({EU}) 2024/1689 of 13 June 2024 (Artificial Intelligence Act)},
}
@misc{pre1,
  title = {A},
  howpublished = {arXiv:2001.08361},
}
@misc{pre2,
  title = {B},
  note = {arXiv:2001.08361 (v2)},
}
@misc{other,
  title = {C},
  howpublished = {arXiv:2001.083610},
}
"""
    assert duplicates(bib_entries(same_law)) == [("law1", "law2"), ("pre1", "pre2")]


def test_every_bibliography_entry_is_cited_in_the_book():
    cited = cited_keys()
    uncited = sorted(set(bib_entries()) - set(cited))
    assert not uncited, f"entries cited nowhere in book/ (the bibliography lists :all:): {uncited}"


def test_every_cited_key_is_in_the_bibliography():
    keys = set(bib_entries())
    missing = {k: where for k, where in cited_keys().items() if k not in keys}
    assert not missing, f"cited but not in references.bib: {missing}"


# --- 3. bold-introduced terms and the glossary ---------------------------------------------------

# **term** (中文 ...): bold text, then parentheses holding at least one Chinese character
_BOLD_INTRO = re.compile(r"\*\*([^*\n]+?)\*\*\s*\(([^()\n]*[\u4e00-\u9fff][^()\n]*)\)")


def chapters() -> list[Path]:
    """Every chapter notebook, including a split chapter's second part (ch14b_...)."""
    return [p for p in notebooks_on_disk() if re.match(r"ch\d\d[a-z]?_", p.name)]


def glossary_terms() -> set[str]:
    return {term.lower() for _, term, _, _ in glossary_entries()}


def bold_introductions(text: str) -> list[tuple[str, str]]:
    """(term, parenthesis) of every ``**term** (中文)`` in a text."""
    return [(m.group(1).strip(), m.group(2)) for m in _BOLD_INTRO.finditer(text)]


def unglossed(text: str, terms: set[str]) -> list[str]:
    """Bold-introduced terms that are neither glossary terms nor linked to one by a {term} role
    in the bold text or in the parentheses."""
    missing = []
    for bold, paren in bold_introductions(text):
        roles = _TERM_ROLE.findall(bold) + _TERM_ROLE.findall(paren)
        if roles and all(_term_target(r) in terms for r in roles):
            continue
        if re.sub(r"\s+", " ", bold).lower() not in terms:
            missing.append(bold)
    return missing


def test_bold_term_finder():
    text = (
        "the **training set** (训练集) and **under-fits** ({term}`under-fitting`, 欠拟合); "
        "**bold** (not Chinese) and **sub-word tokenisation** (子词切分)"
    )
    assert unglossed(text, {"under-fitting", "training set"}) == ["sub-word tokenisation"]
    assert unglossed(text, {"training set"}) == ["under-fits", "sub-word tokenisation"]


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_bold_introduced_terms_are_in_the_glossary(path):
    missing = unglossed(markdown_text(read(path)), glossary_terms())
    assert not missing, (
        f"{path.name} introduces terms in bold with a Chinese name that the glossary lacks "
        f"(add them to glossary_parts/{path.stem[:4]}.md): {missing}"
    )


def chapter_usage() -> tuple[set[str], str]:
    """({term} targets used in the chapters, the chapters' prose flattened and lower-cased)."""
    prose = "\n".join(markdown_text(read(p)) for p in chapters())
    roles = {_term_target(r) for r in _TERM_ROLE.findall(prose)}
    return roles, re.sub(r"\s+", " ", prose).lower()


def test_every_glossary_term_is_used_in_a_chapter():
    roles, flat = chapter_usage()
    unused = sorted(
        f"{term} ({stem})"
        for stem, term, _, _ in glossary_entries()
        if term.lower() not in roles and term.lower() not in flat
    )
    assert not unused, f"glossary terms no chapter uses: {unused}"


# --- 4. Appendix A answers every question of the source documents ------------------------------

APPENDIX = BOOK / "appendix"
# the chapters being written beside the appendices (their file names are fixed by the design)
ANNOUNCED = {
    "ch09_scaling",
    "ch10_compression",
    "ch11_evaluation",
    "ch12_use_cases",
    "ch13_deployment",
    "ch14_trends",
}
_DOC = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
_ASKED = re.compile(r"^\*Asked in: (.+)\*$", re.M)
_QUESTION_ID = re.compile(r"(\d{3}) (§\d+\.\d+|Q\d+)")


def faq_questions_in_the_documents() -> set[str]:
    """Every question of the documents' FAQ sections, as "000 §6.1" or "001 Q3"."""
    from tests.test_errata_references import seed

    found = set()
    for doc, pattern, form in (
        ("000", r"^6\.(\d+) ", "§6.{}"),
        ("001", r"^Q(\d+)[:：]", "Q{}"),
        ("002", r"^6\.(\d+) ", "§6.{}"),
        ("003", r"^### 9\.(\d+) ", "§9.{}"),
        ("004", r"^Q(\d+)[:：]", "Q{}"),
    ):
        numbers = re.findall(pattern, seed(doc), re.M)
        assert numbers, f"no FAQ questions found in {doc}"
        found |= {f"{doc} {form.format(n)}" for n in numbers}
    return found


def faq_sections() -> list[tuple[str, str]]:
    """(heading, body) of every question (### heading) of the FAQ page."""
    text = (APPENDIX / "faq.md").read_text()
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def test_faq_answers_every_question_of_the_documents():
    expected = faq_questions_in_the_documents()
    assert len(expected) == 3 + 12 + 3 + 3 + 4
    asked = set()
    for heading, body in faq_sections():
        found = _ASKED.findall(body)
        assert len(found) == 1, f"{heading!r} needs one 'Asked in' line"
        asked |= {f"{d} {q}" for d, q in _QUESTION_ID.findall(found[0])}
    assert asked == expected, (
        f"unanswered: {sorted(expected - asked)}; not questions: {sorted(asked - expected)}"
    )


def doc_target(link: str, page: Path) -> str:
    """The document a {doc} link names, relative to book/ and without suffix."""
    resolved = (page.parent / link).resolve() if not link.startswith("/") else None
    if resolved is None:
        return link.lstrip("/").removeprefix("book/")
    return str(resolved.relative_to(BOOK.resolve()))


@pytest.mark.parametrize("name", ["faq.md", "tools.md"])
def test_appendix_links_name_chapters_that_exist_or_are_announced(name):
    page = APPENDIX / name
    targets = {doc_target(t, page) for t in _DOC.findall(page.read_text())}
    assert targets, f"{name} links no chapter"
    for target in targets:
        exists = any((BOOK / f"{target}{s}").exists() for s in (".ipynb", ".md"))
        assert exists or target in ANNOUNCED, f"{name} links {target!r}, which does not exist"


def test_every_faq_answer_links_a_chapter():
    for heading, body in faq_sections():
        assert _DOC.search(body), f"the answer to {heading!r} links no chapter"


# --- 5. Appendix B names every tool and resource the documents recommend ------------------------

# (name as the documents write it, document, name as Appendix B writes it)
RECOMMENDED = [
    ("PyTorch", "001", "PyTorch"),
    ("TensorFlow", "001", "TensorFlow"),
    ("Keras", "001", "Keras"),
    ("Hugging Face Transformers", "001", "Hugging Face Transformers"),
    ("OpenAI Gym", "001", "OpenAI Gym"),
    ("TensorBoard", "001", "TensorBoard"),
    ("Papers With Code", "001", "Papers with Code"),
    ("AI Hub", "001", "AI Hub"),
    ("Pandas", "003", "pandas"),
    ("NumPy", "003", "NumPy"),
    ("Matplotlib", "003", "Matplotlib"),
    ("R", "003", "| R |"),
    ("GitHub", "003", "GitHub"),
    ("ArXiv", "003", "arXiv"),
    ("TensorFlow官方文档", "003", "Official documentation of TensorFlow and Keras"),
    ("NVIDIA Tesla V100", "003", "V100"),
    ("Scikit-learn", "004", "scikit-learn"),
    ("TensorFlow Serving", "004", "TensorFlow Serving"),
    ("TorchServe", "004", "TorchServe"),
    ("ONNX", "004", "ONNX"),
    ("Google Cloud", "004", "Google Cloud"),
    ("Amazon Web Services", "004", "Amazon Web Services"),
    ("Microsoft Azure", "004", "Microsoft Azure"),
    ("TPU", "002", "TPU"),
]


@pytest.mark.parametrize("seed_name,doc,ours", RECOMMENDED, ids=[r[0] for r in RECOMMENDED])
def test_tools_appendix_lists_every_recommended_tool(seed_name, doc, ours):
    from tests.test_errata_references import seed

    assert seed_name in seed(doc), f"{seed_name!r} is not in document {doc}"
    assert ours in (APPENDIX / "tools.md").read_text(), f"Appendix B does not list {ours!r}"


def test_tools_appendix_is_dated_and_every_row_has_a_status():
    text = (APPENDIX / "tools.md").read_text()
    assert "23 November 2026" in text
    headers = [ln for ln in text.splitlines() if ln.startswith("| Tool |")]
    assert headers and all("Status (2026-11-23)" in h for h in headers)
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith(("| Tool |", "| Resource |", "|---")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert all(cells), f"empty cell in: {line[:80]}"


# --- 6. claims of Appendix B that the installed packages can prove ------------------------------


def test_transformers_5_has_no_tensorflow_or_flax_models():
    transformers = pytest.importorskip("transformers")
    major = int(transformers.__version__.split(".")[0])
    if major < 5:
        pytest.skip(f"transformers {transformers.__version__} predates the claim (version 5)")
    assert hasattr(transformers, "GPT2LMHeadModel")
    for name in ("TFGPT2LMHeadModel", "FlaxGPT2LMHeadModel", "TFBertModel", "FlaxBertModel"):
        assert not hasattr(transformers, name), name
    assert "ships PyTorch models only" in (APPENDIX / "tools.md").read_text()


def test_gymnasium_step_separates_terminated_and_truncated():
    gym = pytest.importorskip("gymnasium")
    env = gym.make("CartPole-v1")  # ships with gymnasium: no download
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step(0)
    assert observation.shape == (4,) and isinstance(terminated, bool)
    assert isinstance(truncated, bool) and isinstance(info, dict)
    env.close()
    assert "separate `terminated` and `truncated` flags" in (APPENDIX / "tools.md").read_text()


# --- 7. the errata rows that Appendices A and B name exist ----------------------------------------

_ROW_REF = re.compile(r"\brows? ((?:\d+|A|R)\.\d+)(?:(?:\s*(?:–|and|,)\s*)((?:\d+|A|R)\.\d+))?")


def errata_row_ids() -> set[str]:
    ids = set()
    for part in sorted((APPENDIX / "errata_parts").glob("*.md")):
        ids |= set(re.findall(r"^\| ((?:\d+|A|R)\.\d+) \|", part.read_text(), re.M))
    return ids


def named_rows(text: str) -> set[str]:
    return {row for pair in _ROW_REF.findall(text) for row in pair if row}


def test_row_reference_finder():
    text = "errata rows 2.7–2.9, row A.10; rows 2.4 and 2.12 and row R.5"
    assert named_rows(text) == {"2.7", "2.9", "A.10", "2.4", "2.12", "R.5"}


@pytest.mark.parametrize("name", ["faq.md", "tools.md", "errata_parts/appendix.md"])
def test_named_errata_rows_exist(name):
    missing = sorted(named_rows((APPENDIX / name).read_text()) - errata_row_ids())
    assert not missing, f"{name} names errata rows that do not exist: {missing}"
