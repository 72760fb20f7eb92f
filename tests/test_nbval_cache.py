"""``make notebooks`` plugins: nbval's executed notebooks go to the book's jupyter-cache, and
notebook times are reported, never failed (tests/nbval_cache.py, tests/notebook_budget.py).

The end-to-end tests run pytest + nbval on two tiny notebooks in a temporary folder (two
kernel starts, a few seconds): a passing notebook must be found in the cache under the key
the book build computes; a failing one must not be (the build then executes it and raises).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.nbval_cache import outputs_from_messages

ROOT = Path(__file__).resolve().parents[1]


def msg(kind, **content):
    return {"msg_type": kind, "content": content, "header": {"msg_type": kind},
            "parent_header": {"msg_id": "x"}, "metadata": {}}  # fmt: skip


def test_outputs_are_rebuilt_as_nbclient_builds_them():
    messages = [
        msg("status", execution_state="busy"),
        msg("execute_input", code="...", execution_count=1),
        msg("stream", name="stdout", text="one\n"),
        msg("clear_output", wait=True),  # cleared only when the next output arrives
        msg("stream", name="stdout", text="two\n"),
        msg("display_data", data={"text/plain": "fig"}, metadata={}),
        msg("stream", name="stdout", text="three\n"),  # not merged into "two" (order kept)
        msg("execute_result", data={"text/plain": "2"}, metadata={}, execution_count=1),
        msg("status", execution_state="idle"),
    ]
    outs, problem = outputs_from_messages(messages)
    assert problem is None
    assert [o.output_type for o in outs] == ["stream", "display_data", "stream", "execute_result"]
    assert outs[0].text == "two\n" and outs[2].text == "three\n"
    outs, _ = outputs_from_messages([messages[2], msg("clear_output", wait=False)])
    assert outs == []


def test_a_message_it_cannot_reproduce_makes_the_notebook_uncacheable():
    update = msg("update_display_data", data={}, metadata={}, transient={"display_id": "a"})
    assert outputs_from_messages([update])[1] is not None
    shown = msg("display_data", data={}, metadata={}, transient={"display_id": "a"})
    assert outputs_from_messages([shown])[1] is not None


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}  # fmt: skip
    nb.cells = [new_markdown_cell("# A notebook")] + [new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


def _run_nbval(folder: Path, notebook: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTEBOOK_BUDGET_S": "0.001"}
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider",
           "-p", "tests.notebook_budget", "-p", "tests.nbval_cache", "--nb-cache=cache",
           "-q", notebook]  # fmt: skip
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_passing_notebook_is_cached_failing_one_is_not_and_time_never_fails(tmp_path):
    from jupyter_cache import get_cache

    ok = _notebook(tmp_path / "ok.ipynb", ["print('hello')", "x = 1 + 1\nx"])
    bad = _notebook(tmp_path / "bad.ipynb", ["print('hi')", "raise ValueError('boom')"])

    run = _run_nbval(tmp_path, "ok.ipynb")
    assert run.returncode == 0, run.stdout + run.stderr  # over its 0.001 s budget, and passes
    assert "over budget" in run.stdout and "1 stored" in run.stdout
    times = json.loads((tmp_path / "_build" / "notebook_times.json").read_text())
    assert times[0]["notebook"] == "ok.ipynb" and times[0]["over_budget"] is True

    cache = get_cache(str(tmp_path / "cache"))
    source = nbformat.read(str(ok), as_version=4)  # the file as the book build reads it
    _, merged = cache.merge_match_into_notebook(source)  # KeyError if the keys differ
    code = [c for c in merged.cells if c.cell_type == "code"]
    assert code[0].outputs[0].text == "hello\n"
    assert code[1].outputs[0].data["text/plain"] == "2"

    run = _run_nbval(tmp_path, "bad.ipynb")
    assert run.returncode == 1 and "not stored" in run.stdout
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(str(bad), as_version=4))
    assert len(cache.list_cache_records()) == 1
