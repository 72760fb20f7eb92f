"""pytest plugin: report every notebook's execution time against its budget; never fail on it.

Loaded by ``make notebooks`` (``-p tests.notebook_budget``). Each notebook's wall time is the
sum of its cells' setup, call and teardown (kernel start included); its CPU time is that of
its kernel process (user + system, read when the kernel has exited). Both are printed against
the per-notebook budget (``NOTEBOOK_BUDGET_S``, default 60 s, DESIGN.md) and written to
``_build/notebook_times.json``.

A notebook over budget is *reported*, never failed: a learner's laptop or a busy CI runner is
slower than ours, and a test suite must not fail because a machine is slow. Speed is judged by
``make bench`` (companion/benchmark/), which also times a calibration workload. The hang guard is
nbval's per-cell timeout (``--nbval-cell-timeout`` in the Makefile).
"""

from __future__ import annotations

import json
import os
import resource
from collections import defaultdict
from pathlib import Path

import pytest

BUDGET_S = float(os.environ.get("NOTEBOOK_BUDGET_S", "60"))
_wall: dict[str, float] = defaultdict(float)
_cpu: dict[str, float] = defaultdict(float)
_last_children_cpu = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Runs in the process that ran the item (an xdist worker too). The kernel's CPU time is
    # counted once the kernel has been reaped, in the teardown of the notebook's last cell.
    outcome = yield
    now = _children_cpu()
    delta, _last_children_cpu[0] = now - _last_children_cpu[0], now
    if str(item.fspath).endswith(".ipynb"):
        outcome.get_result().user_properties.append(("children_cpu_s", delta))


def pytest_runtest_logreport(report):
    name = report.nodeid.split("::")[0]
    if name.endswith(".ipynb"):
        _wall[name] += report.duration
        _cpu[name] += sum(v for k, v in report.user_properties if k == "children_cpu_s")


def budget_table() -> list[dict]:
    return [
        {
            "notebook": name,
            "wall_s": round(_wall[name], 1),
            "cpu_s": round(_cpu[name], 1),
            "budget_s": BUDGET_S,
            "over_budget": _wall[name] > BUDGET_S,
        }
        for name in sorted(_wall)
    ]


def pytest_sessionfinish(session, exitstatus):
    if not _wall or hasattr(session.config, "workerinput"):  # xdist workers: the controller writes
        return
    out = Path(session.config.rootpath) / "_build" / "notebook_times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(budget_table(), indent=2))


def pytest_terminal_summary(terminalreporter):
    if not _wall:
        return
    tr = terminalreporter
    tr.section(f"notebook execution times (budget {BUDGET_S:.0f} s each; reported, not enforced)")
    tr.write_line(f"{'wall':>7}    {'CPU':>7}")
    for row in budget_table():
        flag = "  over budget on this machine (see make bench)" if row["over_budget"] else ""
        tr.write_line(f"{row['wall_s']:7.1f} s  {row['cpu_s']:7.1f} s  {row['notebook']}{flag}")
    tr.write_line(f"{sum(_wall.values()):7.1f} s  {sum(_cpu.values()):7.1f} s  total")
