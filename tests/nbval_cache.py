"""pytest plugin: store every notebook that nbval executed in the book build's jupyter-cache.

Loaded by ``make notebooks`` (``-p tests.nbval_cache --nb-cache=_build/.jupyter_cache``), so
that ``make test`` executes each notebook once: nbval runs it (every cell must pass), this
plugin records the outputs the kernel sent, and the strict book build that follows
(``execute_notebooks: cache`` in ``_config.yml``) finds the executed notebook in the cache
instead of running it a second time.

Rules that keep this from hiding a failure:

* A notebook is cached only if every one of its code cells passed under nbval (setup, call
  and teardown) and none was skipped. A notebook with a failing cell is not cached, so the
  book build executes it itself and raises on the failing cell
  (``nb_execution_raise_on_error``).
* The cached notebook is the file on disk, re-read at the end, with outputs added:
  jupyter-cache keys a notebook by the hash of its code cells (sources and metadata) and its
  kernelspec, so the key is the one the book build computes from the same file. Its code
  sources must equal what nbval executed: a notebook edited during the run is not cached.
* Cells are sent to the kernel as nbclient (the book build's executor) sends them
  (``store_history=True``: execution counts, ``_``/``Out``), and outputs are rebuilt from the
  kernel's iopub messages the way nbclient does it: one output per ``stream``,
  ``display_data``, ``execute_result`` or ``error`` message, in order, ``clear_output``
  honoured. A message this plugin does not understand (e.g. ``update_display_data``) makes
  the notebook uncacheable rather than wrong.

Without ``--nb-cache`` the plugin does nothing.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import output_from_msg

OUTPUT_MSGS = {"stream", "display_data", "execute_result", "error"}
IGNORED_MSGS = {"status", "execute_input", "execute_reply"}


def pytest_addoption(parser):
    parser.addoption(
        "--nb-cache",
        default=None,
        metavar="DIR",
        help="store each notebook that passed under nbval in the jupyter-cache at DIR "
        "(the book build's cache: _build/.jupyter_cache)",
    )


class _Record:
    """What one notebook's run produced: outputs per code cell, and whether all passed."""

    def __init__(self):
        self.path: Path | None = None
        self.outputs: dict[int, list] = {}
        self.passed: set[int] = set()  # cells whose call phase passed
        self.counts: dict[int, int | None] = {}  # execution counts the kernel gave
        self.sources: dict[int, str] = {}
        self.ok = True
        self.why: str | None = None
        self.seconds = 0.0

    def spoil(self, why: str):
        if self.ok:
            self.ok, self.why = False, why


_records: dict[str, _Record] = defaultdict(_Record)


def _notebook_id(nodeid: str) -> str:
    return nodeid.split("::")[0]


def _enabled(item) -> bool:
    return bool(item.config.getoption("--nb-cache")) and type(item).__name__ == "IPyNbCell"


def outputs_from_messages(messages: list[dict]) -> tuple[list, str | None]:
    """nbformat outputs from a cell's iopub messages, as nbclient builds them.

    Returns (outputs, problem); problem names a message that cannot be reproduced faithfully.
    """
    outs: list = []
    clear_next = False
    for msg in messages:
        kind = msg["msg_type"]
        if kind in IGNORED_MSGS or kind.startswith("comm"):
            continue
        if kind == "clear_output":
            if msg["content"].get("wait"):
                clear_next = True
            else:
                outs, clear_next = [], False
            continue
        if kind not in OUTPUT_MSGS:
            return outs, f"unsupported iopub message {kind!r}"
        if clear_next:
            outs, clear_next = [], False
        if msg["content"].get("transient", {}).get("display_id"):
            return outs, "display with a display_id (may be updated later)"
        outs.append(output_from_msg(msg))
    return outs, None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if not _enabled(item):
        yield
        return
    nbfile, record = item.parent, _records[_notebook_id(item.nodeid)]
    record.path = Path(str(item.fspath))
    kernel = nbfile.kernel
    sent: list[str] = []
    messages: list[dict] = []
    get_message = nbfile.get_kernel_message

    def execute_like_nbclient(cell_input, allow_stdin=None):
        # nbval sends store_history=False; nbclient (the book build) sends True, which gives
        # execution counts, `_`/`Out` and the display hook's exact output. Send what nbclient
        # sends, so that the cached outputs are those the book build would have produced.
        msg_id = kernel.kc.execute(
            cell_input, store_history=True, allow_stdin=False, stop_on_error=False
        )
        sent.append(msg_id)
        return msg_id

    def get_and_remember(*args, **kwargs):
        msg = get_message(*args, **kwargs)
        if sent and msg["parent_header"].get("msg_id") == sent[-1]:
            messages.append(msg)
        return msg

    kernel.execute_cell_input = execute_like_nbclient  # instance attributes shadow the methods
    nbfile.get_kernel_message = get_and_remember
    try:
        yield
    finally:
        del kernel.execute_cell_input
        del nbfile.get_kernel_message
    outs, problem = outputs_from_messages(messages)
    if problem:
        record.spoil(f"cell {item.cell_num}: {problem}")
    record.outputs[item.cell_num] = outs
    counts = [m["content"]["execution_count"] for m in messages if m["msg_type"] == "execute_input"]
    record.counts[item.cell_num] = counts[0] if counts else None
    record.sources[item.cell_num] = item.cell.source


def pytest_runtest_logreport(report):
    name, _, cell = report.nodeid.partition("::")
    if not name.endswith(".ipynb") or not cell.startswith("Cell "):
        return
    record = _records.get(name)
    if record is None:  # plugin off, another process ran it (xdist), or no cell reached "call"
        return
    record.seconds += report.duration
    if not report.passed:
        record.spoil(f"{report.nodeid} {report.outcome} in {report.when}")
    elif report.when == "call":
        record.passed.add(int(cell.removeprefix("Cell ")))


def _language_info() -> dict:
    """What ipykernel reports (nbclient stores it in the executed notebook's metadata)."""
    try:
        from ipykernel.ipkernel import IPythonKernel

        return dict(IPythonKernel.language_info)
    except ImportError:  # pragma: no cover - ipykernel is a dependency of the book extra
        return {"name": "python"}


def executed_notebook(path: Path, record: _Record) -> nbformat.NotebookNode | None:
    """The notebook on disk with the recorded outputs, or None if it cannot be cached."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    everything = list(range(len(code)))
    if sorted(record.outputs) != everything or sorted(record.passed) != everything:
        return None  # a cell was deselected, skipped, failed or never ran
    for i, cell in enumerate(code):
        if cell.source != record.sources[i]:
            return None  # the file changed while nbval ran it
        cell.outputs = copy.deepcopy(record.outputs[i])
        cell.execution_count = record.counts.get(i)
    nb.metadata["language_info"] = _language_info()
    return nb


def pytest_sessionfinish(session, exitstatus):
    cache_dir = session.config.getoption("--nb-cache")
    if not cache_dir or not _records:
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache_dir = Path(session.config.rootpath) / cache_dir
    cache = get_cache(str(cache_dir))
    stored, skipped = [], []
    for _, record in sorted(_records.items()):
        path = record.path
        nb = executed_notebook(path, record) if record.ok else None
        if nb is None:
            skipped.append(f"{path.name} ({record.why or 'incomplete run or edited file'})")
            continue
        cache.cache_notebook_bundle(
            CacheBundleIn(nb, str(path.resolve()), data={"execution_seconds": record.seconds}),
            check_validity=False,
            overwrite=True,
        )
        stored.append(path.name)
    session.config._nbval_cache_summary = (cache_dir, stored, skipped)


def pytest_terminal_summary(terminalreporter, config):
    summary = getattr(config, "_nbval_cache_summary", None)
    if summary is None:
        return
    cache_dir, stored, skipped = summary
    tr = terminalreporter
    tr.section("notebooks stored in the book's jupyter-cache")
    tr.write_line(f"{len(stored)} stored in {cache_dir}; the book build will not run them again")
    for line in skipped:
        tr.write_line(f"not stored (the book build executes it): {line}")
