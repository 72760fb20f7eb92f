"""The ``bench.json`` format, its check, the machine description and the printed table.

``make bench`` writes one JSON object (``SCHEMA_VERSION`` 1)::

    schema          1
    created         ISO 8601 time (UTC)
    machine         {cpu, cores, torch_threads, torch, python, platform, gpu,
                     load_before, load_after}
    calibration     {seconds, runs, threaded_runs, threads, contention, workload}
    notebooks       [{notebook, wall_s, cpu_s, calibration_units, budget_s, within_budget,
                      within_target, error}]             (notebooks.budget_rows)
    book            {wall_s, cpu_s, calibration_units, budget_s, within_budget, notebooks}
    ratios          [{name, pass, shape, device, max_abs_diff,
                      scratch_s, fused_s, ratio: {median, q25, q75, n}}]   (kernels.measure)
    pending         [{name, status: "pending", note}]   (comparisons not measured yet)
    gpu             {status, runs: [...]}                (gpu.run_gpu)

:func:`check_result` validates an object against this description (tests/test_bench.py and
the Performance appendix both call it), so a file the appendix cannot read is caught early.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1

_NUMBER = (int, float)
_SUMMARY_KEYS = {"median", "q25", "q75", "n"}
_REQUIRED = {
    "schema": int,
    "created": str,
    "machine": dict,
    "calibration": dict,
    "notebooks": list,
    "book": (dict, type(None)),
    "ratios": list,
    "pending": list,
    "gpu": dict,
}


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return None


def describe_machine() -> dict:
    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu": gpu,
        "load_before": load_average(),
    }


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _fail(where: str, message: str):
    raise ValueError(f"bench result: {where}: {message}")


def _check_summary(s, where: str) -> None:
    if not isinstance(s, dict) or set(s) != _SUMMARY_KEYS:
        _fail(where, f"expected a summary with keys {sorted(_SUMMARY_KEYS)}, got {s!r}")
    if not s["q25"] <= s["median"] <= s["q75"]:
        _fail(where, f"quartiles out of order: {s}")


def check_result(result: dict) -> dict:
    """Raise ValueError (naming the field) unless ``result`` follows the schema; return it."""
    if not isinstance(result, dict):
        _fail("top level", f"expected a JSON object, got {type(result).__name__}")
    for key, kind in _REQUIRED.items():
        if key not in result:
            _fail(key, "missing")
        if not isinstance(result[key], kind):
            _fail(key, f"expected {kind}, got {type(result[key]).__name__}")
    if result["schema"] != SCHEMA_VERSION:
        _fail("schema", f"expected {SCHEMA_VERSION}, got {result['schema']}")
    for key in ("cpu", "cores", "torch"):
        if key not in result["machine"]:
            _fail(f"machine.{key}", "missing")
    cal = result["calibration"]
    if not isinstance(cal.get("seconds"), _NUMBER) or not cal["seconds"] > 0:
        _fail("calibration.seconds", f"expected a positive number, got {cal.get('seconds')!r}")
    for i, row in enumerate(result["notebooks"]):
        for key in ("notebook", "wall_s", "calibration_units", "budget_s", "within_budget"):
            if key not in row:
                _fail(f"notebooks[{i}].{key}", "missing")
        expected = row["wall_s"] / cal["seconds"]
        if abs(row["calibration_units"] - expected) > 1e-9 * max(1.0, expected):
            _fail(
                f"notebooks[{i}].calibration_units",
                f"{row['calibration_units']} is not wall_s / calibration.seconds = {expected}",
            )
        if row["within_budget"] != (row["wall_s"] <= row["budget_s"]):
            _fail(f"notebooks[{i}].within_budget", "disagrees with wall_s and budget_s")
    for i, row in enumerate(result["ratios"]):
        where = f"ratios[{i}]"
        for key in ("name", "pass", "scratch_s", "fused_s", "ratio"):
            if key not in row:
                _fail(f"{where}.{key}", "missing")
        if row["pass"] not in ("forward", "backward", "step"):
            _fail(f"{where}.pass", f"expected 'forward', 'backward' or 'step', got {row['pass']!r}")
        for key in ("scratch_s", "fused_s", "ratio"):
            _check_summary(row[key], f"{where}.{key}")
    for i, row in enumerate(result["pending"]):
        if row.get("status") != "pending" or "ratio" in row:
            _fail(f"pending[{i}]", "a pending comparison has status 'pending' and no ratio")
    if "status" not in result["gpu"] or not isinstance(result["gpu"].get("runs"), list):
        _fail("gpu", "expected {status, runs}")
    for i, run in enumerate(result["gpu"]["runs"]):
        for key in ("model", "tokens_per_s", "flops_per_token", "peak_bf16_flops", "mfu"):
            if key not in run:
                _fail(f"gpu.runs[{i}].{key}", "missing")
    return result


def load(path) -> dict:
    """Read and check a bench.json file."""
    return check_result(json.loads(Path(path).read_text()))


def save(result: dict, path) -> Path:
    check_result(result)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def _fmt(x, spec: str, none: str = "-") -> str:
    return none if x is None else format(x, spec)


def format_table(result: dict) -> str:
    """The text table ``make bench`` prints."""
    m, cal = result["machine"], result["calibration"]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} "
        f"({m.get('torch_threads')} threads), GPU: {m.get('gpu') or 'none'}; "
        f"load average before {m.get('load_before')}, after {m.get('load_after')}",
        f"calibration workload: {cal['seconds']:.3f} s on one thread (median of "
        f"{len(cal['runs'])}) = 1 unit; on {cal.get('threads')} threads "
        f"{_fmt(cal.get('contention'), '.1f')} times as long (1 or less: a quiet machine)",
        "",
        f"{'notebook':40s} {'wall s':>8s} {'CPU s':>8s} {'units':>7s} {'budget':>7s}",
    ]
    for row in result["notebooks"]:
        flag = "" if row["within_budget"] else "  OVER"
        if row.get("error"):
            flag += f"  FAILED ({row['error']})"
        lines.append(
            f"{Path(row['notebook']).name:40s} {row['wall_s']:8.1f} "
            f"{_fmt(row['cpu_s'], '8.1f'):>8s} {row['calibration_units']:7.1f} "
            f"{row['budget_s']:7.0f}{flag}"
        )
    if result["book"]:
        b = result["book"]
        lines.append(
            f"{'whole book':40s} {b['wall_s']:8.1f} {_fmt(b['cpu_s'], '8.1f'):>8s} "
            f"{b['calibration_units']:7.1f} {b['budget_s']:7.0f}"
            + ("" if b["within_budget"] else "  OVER")
        )
    lines += [
        "",
        f"{'from scratch / fused (median [q25, q75] of paired runs)':70s} {'pass':9s} "
        f"{'ratio':>22s}",
    ]
    for row in result["ratios"]:
        r = row["ratio"]
        lines.append(
            f"{row['name'][:70]:70s} {row['pass']:9s} "
            f"{r['median']:6.2f} [{r['q25']:5.2f}, {r['q75']:5.2f}] ({row['device']})"
        )
    for row in result["pending"]:
        lines.append(f"{row['name'][:70]:70s} {'':9s} {'pending':>8s}: {row['note']}")
    gpu = result["gpu"]
    lines += ["", f"GPU: {gpu['status']}"]
    for run in gpu["runs"]:
        lines.append(
            f"  {run['model']:18s} {run['tokens_per_s']:12,.0f} tokens/s  "
            f"MFU {_fmt(run['mfu'], '.1%', 'n/a')}  ({run['peak_source']})"
        )
    return "\n".join(lines)
