"""Colab, proven: a chapter runs alone, in a fresh environment, installing what it needs
through its own first cell (issue 17).

The notebook is copied alone into an empty folder; a fresh virtual environment (no system
or project site-packages) gets only torch (the build this machine uses, as the Makefile
installs it), a kernel and nbval; a first cell puts a fake ``google.colab`` module in
``sys.modules``, so the setup cell's Colab branch really runs and installs the companion,
from this checkout instead of the repository URL; then nbval runs the notebook. A last cell
asserts that the companion it imported is the one the notebook installed.

`make test` runs one short chapter; `make colab-check` (COLAB_CHAPTERS=all) runs them all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests.bookinfo import ROOT, chapter_notebooks, config

DEFAULT = ["ch01_history"]
CHOSEN = os.environ.get("COLAB_CHAPTERS", ",".join(DEFAULT))
CHAPTERS = [p for p in chapter_notebooks() if CHOSEN == "all" or p.stem in CHOSEN.split(",")]
FAKE_COLAB = (
    "# Test only: pretend to be Colab, so that the setup cell's install branch runs.\n"
    "import sys\nimport types\n\n"
    'sys.modules["google.colab"] = types.ModuleType("google.colab")'
)
PROOF = (
    "# Test only: the companion in use is the one the setup cell installed.\n"
    "import companion\n\n"
    "assert 'site-packages' in companion.__file__, companion.__file__\n"
    f"assert not companion.__file__.startswith({str(ROOT)!r}), companion.__file__"
)


def torch_requirement() -> str:
    """The torch the Makefile installs (TORCH=...), else this machine's own build."""
    if os.environ.get("TORCH"):
        return os.environ["TORCH"]
    import torch

    return f"torch=={torch.__version__.split('+')[0]}"


def run(cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory):
    """A virtual environment with torch, a kernel and nbval, and nothing of this project."""
    base = tmp_path_factory.mktemp("colab")
    venv = base / "venv"
    run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, torch_requirement()])
    run([*pip, "ipykernel", "nbval", "pytest"])
    run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", "colab-check"])
    find = "import importlib.util as u; print(u.find_spec('companion'))"
    probe = run([str(python), "-c", find], cwd=base)
    assert probe.stdout.strip() == "None", "the fresh environment already has the companion"
    # "the repository" for the install: a copy of this checkout's package files
    source = base / "checkout"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "companion", source / "companion",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))  # fmt: skip
    return python, source


def colab_copy(path, source):
    """The chapter as Colab would open it, installing from ``source`` instead of GitHub."""
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    url = "git+" + config()["repository"]["url"]
    assert setup.source.count(url) == 1, f"{path.name}: the setup cell does not install {url}"
    setup.source = setup.source.replace(url, str(source))
    nb.cells.insert(0, nbformat.v4.new_code_cell(FAKE_COLAB))
    nb.cells.append(nbformat.v4.new_code_cell(PROOF))
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_as_in_colab(path, fresh_env, tmp_path):
    python, source = fresh_env
    folder = tmp_path / "colab"  # the notebook alone, in an empty folder
    folder.mkdir()
    nbformat.write(colab_copy(path, source), folder / path.name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(COURSE_QUIET="1", PATH=f"{python.parent}:{env.get('PATH', '')}")
    done = subprocess.run(
        [str(python), "-m", "pytest", "--nbval-lax", "--nbval-kernel-name", "colab-check",
         "--nbval-cell-timeout=900", "-p", "no:cacheprovider", "-q", path.name],
        cwd=folder, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
