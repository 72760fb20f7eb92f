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
