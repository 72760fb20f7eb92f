"""The book's own rules, as tests (DESIGN.md, "Tests and CI")."""

from __future__ import annotations

import re

import pytest
import tomllib
import yaml

from companion.instructor import BEGIN, END, student_version, tags
from tests.bookinfo import (
    BOOK,
    ROOT,
    SETUP_TAG,
    all_page_text,
    chapter_notebooks,
    config,
    markdown_text,
    notebooks_on_disk,
    page_path,
    read,
    toc,
    toc_files,
)

CHAPTERS = chapter_notebooks()
ids = [p.name for p in CHAPTERS]


def test_every_toc_entry_exists():
    for entry in toc_files():
        page_path(entry)  # raises if missing


def test_every_notebook_is_in_the_toc():
    named = set(toc_files())
    for nb in notebooks_on_disk():
        assert str(nb.relative_to(ROOT).with_suffix("")) in named, f"{nb} is not in _toc.yml"


def test_every_markdown_page_is_in_the_toc():
    named = set(toc_files())
    for md in BOOK.rglob("*.md"):
        if md.parent.name.endswith("_parts"):
            continue  # fragments included by an appendix page ({include}), not pages
        assert str(md.relative_to(ROOT).with_suffix("")) in named, f"{md} is not in _toc.yml"


@pytest.mark.parametrize("path", notebooks_on_disk(), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} cell {i} has stored outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_chapter_starts_with_title_and_setup_cell(path):
    nb = read(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        f"{path.name} must open with a '# Title' markdown cell"
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = code[0]
    assert SETUP_TAG in tags(setup), f"{path.name}: first code cell must be tagged '{SETUP_TAG}'"
    src = setup.source
    assert '"google.colab" in sys.modules' in src, "setup cell must guard the install on Colab"
    assert "get_device(" in src and "seed_everything(" in src and "get_profile(" in src


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_colab_install_url_is_the_configured_repository(path):
    url = config()["repository"]["url"]
    setup = next(c for c in read(path).cells if c.cell_type == "code")
    urls = re.findall(r"git\+(https://[^\s\"'@]+)", setup.source)
    assert urls == [url], f"{path.name} installs from {urls}, _config.yml says {url}"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_chapter_has_three_exercises_each_with_a_solution(path):
    md = markdown_text(read(path))
    labels = re.findall(r"[`:]{3,}\s*\{exercise(?:-start)?\}[^\n]*\n:label:\s*(\S+)", md)
    assert len(labels) >= 3, f"{path.name} has {len(labels)} labelled exercises, needs >= 3"
    assert len(set(labels)) == len(labels), f"{path.name} repeats an exercise label"
    solved = set(re.findall(r"\{solution(?:-start)?\}\s+(\S+)", md))
    assert set(labels) <= solved, (
        f"{path.name}: exercises without solutions: {set(labels) - solved}"
    )
    for label in labels:
        assert label.startswith(path.name[:4].replace("_", "-")), (
            f"{path.name}: exercise label {label!r} should start with {path.name[:4]}-"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_solution_cells_follow_the_format_and_stubs_can_be_made(path):
    nb = read(path)
    solution_cells = [c for c in nb.cells if c.cell_type == "code" and "solution" in tags(c)]
    assert solution_cells, f"{path.name} has no code cell tagged 'solution'"
    for cell in solution_cells:
        assert BEGIN in cell.source and END in cell.source, cell.source[:120]
    student = student_version(nb)
    text = "\n".join(c.source for c in student.cells)
    assert BEGIN not in text and "{solution-start}" not in text
    checks = [c for c in nb.cells if c.cell_type == "code" and "check" in tags(c)]
    assert len(checks) >= 3, f"{path.name} has {len(checks)} check cells, needs >= 3"
    for cell in checks:
        assert "companion.exercises" in cell.source or "check_" in cell.source


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_chapter_links_its_errata_and_has_references(path):
    md = markdown_text(read(path))
    assert "{cite" in md, f"{path.name} cites nothing"
    assert re.search(r"\{ref\}`[^`]*errata", md) or "appendix/errata" in md, (
        f"{path.name} does not link the errata appendix"
    )


def _bib_keys() -> set[str]:
    return set(re.findall(r"@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text()))


def test_every_cite_key_exists():
    keys = _bib_keys()
    for entry in toc_files():
        text = all_page_text(page_path(entry))
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            for key in group.split(","):
                assert key.strip() in keys, f"{entry}: unknown citation key {key.strip()!r}"


def test_bib_keys_are_unique():
    text = (BOOK / "references.bib").read_text()
    keys = re.findall(r"@\w+\{([^,\s]+),", text)
    assert len(keys) == len(set(keys)), "duplicate keys in references.bib"


def _requirement_names(reqs: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!\[;~]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def test_environment_yml_covers_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            listed |= _requirement_names([dep])
        else:
            for pip_dep in dep.get("pip", []):
                if pip_dep.startswith(("-e", ".")):
                    listed.add("<the companion>")
                else:
                    listed |= _requirement_names([pip_dep])
    needed = _requirement_names(project["dependencies"] + project["optional-dependencies"]["book"])
    assert needed <= listed, f"environment.yml lacks {sorted(needed - listed)}"
    assert "<the companion>" in listed, "environment.yml must install the companion (pip: -e .)"


def test_no_exact_pins_in_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    assert not [r for r in reqs if "==" in r], "use ranges, not exact pins"
    assert "jupyter-book>=1.0.4,<2" in reqs


def test_config_executes_and_fails_on_errors():
    cfg = config()
    assert cfg["execute"]["execute_notebooks"] in ("cache", "force", "auto")
    assert cfg["execute"]["timeout"] > 0
    assert cfg["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert cfg["only_build_toc_files"] is True
    assert "sphinx_exercise" in cfg["sphinx"]["extra_extensions"]
    assert cfg["launch_buttons"]["colab_url"] and cfg["launch_buttons"]["binderhub_url"]


# --- cross-references between chapters ---------------------------------------------------------

# "Chapter 8", "Chapters 5 and 8", "Chapters 8-14", "Chapters 3, 4 and 9"; not "Goodfellow et
# al.'s Chapter 9" (another book's chapter: a possessive right before it).
_CHAPTER_REF = re.compile(r"(?<!['’]s )\bChapters?\s+(\d+)((?:\s*(?:,|and|or|to|–|-|—)\s*\d+)*)")


def _prose_pages() -> list[tuple[str, str]]:
    """(name, prose) of every page in the toc and every included fragment; for notebooks the
    markdown cells only (code is not prose)."""
    pages = []
    for entry in toc_files():
        path = page_path(entry)
        text = markdown_text(read(path)) if path.suffix == ".ipynb" else path.read_text()
        pages.append((entry, text))
    for fragment in sorted(BOOK.glob("appendix/*_parts/*.md")):
        pages.append((str(fragment.relative_to(ROOT)), fragment.read_text()))
    return pages


def chapter_numbers_in_toc() -> list[int]:
    """The chapter numbers the book holds: chNN_ notebooks in the toc, in toc order."""
    return [int(m.group(1)) for e in toc_files() if (m := re.search(r"/ch(\d\d)_", e))]


def chapter_references(text: str) -> list[tuple[int, str]]:
    """Every chapter number a prose reference names, with the matched text; a range
    "Chapters 8-14" names each chapter in it."""
    found = []
    for m in _CHAPTER_REF.finditer(text):
        numbers = [int(m.group(1))] + [int(n) for n in re.findall(r"\d+", m.group(2))]
        if re.search(r"(to|–|-|—)\s*\d+\s*$", m.group(0)) and len(numbers) == 2:
            numbers = list(range(numbers[0], numbers[1] + 1))
        found += [(n, m.group(0)) for n in numbers]
    return found


def test_chapter_reference_finder_reads_lists_and_ranges():
    text = (
        "see Chapter 2; Chapters 5 and 8; Chapters 3, 4 and 9; Chapters 8–14; "
        "Goodfellow, Bengio and Courville's Chapter 9 is another book"
    )
    assert [n for n, _ in chapter_references(text)] == [2, 5, 8, 3, 4, 9, *range(8, 15)]


@pytest.mark.parametrize("name,text", [pytest.param(n, t, id=n) for n, t in _prose_pages()])
def test_references_to_chapters_name_chapters_that_exist(name, text):
    """A prose reference to a chapter the book does not hold is a promise it cannot keep."""
    held = set(chapter_numbers_in_toc())
    missing = sorted({f"{ref!r} (Chapter {n})" for n, ref in chapter_references(text)
                      if n not in held})  # fmt: skip
    assert not missing, f"{name} refers to chapters the book does not hold: {missing}"


def test_toc_chapters_are_numbered_in_order():
    numbers = chapter_numbers_in_toc()
    assert numbers == list(range(1, len(numbers) + 1)), numbers


# --- the glossary ----------------------------------------------------------------------------

_GLOSSARY_PARTS = BOOK / "appendix" / "glossary_parts"


def glossary_entries() -> list[tuple[str, str, str, str]]:
    """(fragment stem, term, Chinese term, definition) for every entry of every fragment."""
    entries = []
    for path in sorted(_GLOSSARY_PARTS.glob("ch*.md")):
        blocks = re.findall(r"```\{glossary\}\n(.*?)\n```", path.read_text(), flags=re.S)
        assert blocks, f"{path.name} holds no {{glossary}} block"
        for block in blocks:
            term = None
            for line in block.splitlines():
                if not line.strip() or line.startswith(":"):
                    continue
                if not line[0].isspace():
                    term = line.strip()
                    continue
                assert term is not None, f"{path.name}: definition before any term: {line!r}"
                chinese, sep, meaning = line.strip().partition(" · ")
                assert sep, f"{path.name}: {term!r} must start with 'Chinese term · ': {line!r}"
                entries.append((path.stem, term, chinese.strip(), meaning.strip()))
                term = None
    return entries


def _chapter_of(stem: str):
    found = sorted(BOOK.glob(f"{stem}_*.ipynb"))
    return found[0] if found else None


def test_glossary_has_entries_from_every_fragment():
    entries = glossary_entries()
    stems = {e[0] for e in entries}
    assert stems == {p.stem for p in _GLOSSARY_PARTS.glob("ch*.md")}
    assert len(entries) >= 50


def test_no_glossary_term_is_defined_twice():
    """Sphinx matches terms case-insensitively; a duplicate fails the build. Two entries with
    the same Chinese term are the same idea twice (e.g. "FLOP" beside "FLOP (floating-point
    operation)")."""
    seen: dict[str, str] = {}
    seen_zh: dict[str, str] = {}
    for stem, term, chinese, _ in glossary_entries():
        key = term.lower()
        assert key not in seen, f"{term!r} is defined in {seen.get(key)} and in {stem}"
        seen[key] = stem
        assert chinese not in seen_zh, (
            f"{chinese} ({term!r}, {stem}) is already defined in {seen_zh[chinese]}"
        )
        seen_zh[chinese] = stem


@pytest.mark.parametrize(
    "stem,term,chinese",
    [(s, t, c) for s, t, c, _ in glossary_entries()],
    ids=lambda v: str(v),
)
def test_glossary_chinese_term_appears_unbroken_in_its_chapter(stem, term, chinese):
    """The chapter whose fragment defines a term introduces it with its Chinese name, on one
    line (a line break inside a Chinese term renders as a space)."""
    chapter = _chapter_of(stem)
    assert chapter is not None, f"glossary_parts/{stem}.md has no chapter {stem}_*.ipynb"
    text = markdown_text(read(chapter))
    assert chinese in text, (
        f"{term!r}: its Chinese term {chinese} does not appear (on one line) in {chapter.name}"
    )


_TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")


def _term_target(role_text: str) -> str:
    m = re.search(r"<([^<>]+)>\s*$", role_text)
    return re.sub(r"\s+", " ", (m.group(1) if m else role_text)).strip().lower()


def test_term_role_parser():
    assert _term_target("backpropagation") == "backpropagation"
    assert _term_target("the rule <Backpropagation>") == "backpropagation"
    assert _term_target("automatic\ndifferentiation") == "automatic differentiation"


@pytest.mark.parametrize("name,text", [pytest.param(n, t, id=n) for n, t in _prose_pages()])
def test_term_roles_name_defined_terms(name, text):
    defined = {term.lower() for _, term, _, _ in glossary_entries()}
    unknown = sorted({t for t in map(_term_target, _TERM_ROLE.findall(text)) if t not in defined})
    assert not unknown, f"{name} links glossary terms that are not defined: {unknown}"


# --- appendices, notation, numbering ----------------------------------------------------------


def _appendix_titles() -> list[tuple[str, str]]:
    """(toc entry, first heading) of each page of the Appendices part, in toc order."""
    (part,) = [p for p in toc()["parts"] if p.get("caption") == "Appendices"]
    found = []
    for chapter in part["chapters"]:
        path = page_path(chapter["file"])
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
        else:
            text = path.read_text()
        found.append((chapter["file"], re.search(r"^# (.+)$", text, re.M).group(1)))
    return found


def test_appendices_are_lettered_in_order_and_hold_the_notation():
    titles = _appendix_titles()
    lettered = [(entry, m.group(1)) for entry, t in titles if (m := re.match(r"([A-Z])\. ", t))]
    letters = [letter for _, letter in lettered]
    assert letters == sorted(letters) and len(set(letters)) == len(letters), titles
    assert [ord(b) - ord(a) for a, b in zip(letters, letters[1:], strict=False)] == [1] * (
        len(letters) - 1
    ), f"appendix letters skip one: {letters}"
    entries = [entry for entry, _ in titles]
    assert "book/appendix/notation" in entries
    assert entries.index("book/appendix/notation") == entries.index("book/appendix/glossary") + 1


def test_notation_page_has_its_label_and_the_preface_links_it():
    text = (BOOK / "appendix" / "notation.md").read_text()
    assert text.startswith("(notation)=\n# E. Notation")
    assert "{ref}`notation`" in (BOOK / "intro.md").read_text()
    # the conflicts issue 9 names are settled on the page
    for decided in ("never the loss", "**out × in**", "**pre-activation**", "classes are $K$"):
        assert decided in text, decided


def test_numbered_toc_and_chapter_titles_agree():
    """With `numbered` parts Sphinx prints the chapter number itself, so a title that also
    starts with it reads "1. 1. Title"; without, the title must carry it (renumber.py, in
    /work/briefs, switches the book from one state to the other)."""
    parts = toc()["parts"]
    chapter_parts = [p for p in parts if any("/ch" in c["file"] for c in p["chapters"])]
    numbered = {bool(p.get("numbered")) for p in chapter_parts}
    assert len(numbered) == 1, "number every part that holds chapters, or none"
    (is_numbered,) = numbered
    for part in parts:
        if part.get("caption") == "Appendices":
            assert not part.get("numbered"), "appendices are lettered, not numbered"
    for position, path in enumerate(CHAPTERS, start=1):
        title = read(path).cells[0].source.splitlines()[0]
        has_number = re.match(r"# (\d+)\. ", title)
        if is_numbered:
            assert not has_number, f"{path.name}: the toc numbers chapters; drop the number"
        else:
            assert has_number and int(has_number.group(1)) == position, (path.name, title)
