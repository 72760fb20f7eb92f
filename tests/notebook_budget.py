"""pytest plugin: time every notebook that nbval runs and enforce the per-notebook budget.

Loaded by ``make notebooks`` (``-p tests.notebook_budget``). Each notebook's time is the sum
of its cells' setup, call and teardown, kernel start included. A notebook over
``NOTEBOOK_BUDGET_S`` seconds (default 60, DESIGN.md) fails the run; the table of times is
printed and written to ``_build/notebook_times.json``.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

BUDGET_S = float(os.environ.get("NOTEBOOK_BUDGET_S", "60"))
_times: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = str(report.fspath)
    if path.endswith(".ipynb"):
        _times[path] += report.duration


def pytest_sessionfinish(session, exitstatus):
    if not _times:
        return
    out = Path(session.config.rootpath) / "_build" / "notebook_times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({k: round(v, 1) for k, v in sorted(_times.items())}, indent=2))
    over = {k: v for k, v in _times.items() if v > BUDGET_S}
    if over and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.section(f"notebook execution times (budget {BUDGET_S:.0f} s each)")
    for path, seconds in sorted(_times.items()):
        flag = "  OVER BUDGET" if seconds > BUDGET_S else ""
        tr.write_line(f"{seconds:7.1f} s  {Path(path).name}{flag}")
    tr.write_line(f"{sum(_times.values()):7.1f} s  total")
