"""``python -m companion.benchmark`` (``make bench``): time the book, its kernels and the GPU.

Writes ``_build/bench.json`` (see :mod:`companion.benchmark.report` for the format) and prints
a table. Options: ``--skip-notebooks`` (kernels and GPU only), ``--only 'ch05*'`` (some
notebooks), ``--repeats N`` (paired runs per ratio), ``--out PATH``. Nothing here fails on
time: it reports.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.benchmark", description=__doc__)
    parser.add_argument("--out", default="_build/bench.json", help="where to write the JSON")
    parser.add_argument("--root", default=".", help="the repository root (book/ lies under it)")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not run notebooks")
    parser.add_argument("--only", default="*", help="run only notebooks whose name matches")
    parser.add_argument("--repeats", type=int, default=9, help="paired runs per ratio")
    parser.add_argument("--gpu-steps", type=int, default=20, help="timed training steps per size")
    args = parser.parse_args(argv)
    os.environ.setdefault("COURSE_QUIET", "1")  # no progress bars in the kernels (as make does)

    import torch

    from companion.benchmark import gpu, kernels, notebooks, report, timing

    result = {
        "schema": report.SCHEMA_VERSION,
        "created": report.now_iso(),
        "machine": report.describe_machine(),
    }
    print("calibrating ...", flush=True)
    before = timing.calibrate()
    times = {}
    if not args.skip_notebooks:
        root = Path(args.root).resolve()
        for path in notebooks.book_notebooks(root):
            if not fnmatch.fnmatch(path.name, args.only):
                continue
            name = str(path.relative_to(root))
            print(f"executing {name} ...", flush=True)
            times[name] = notebooks.time_notebook(path)
    # timed before and after the notebooks: the load may change while they run
    result["calibration"] = timing.combine_calibrations(before, timing.calibrate())
    rows, book = notebooks.budget_rows(times, result["calibration"]["seconds"])
    result["notebooks"], result["book"] = rows, (book if rows else None)
    print("timing from-scratch vs fused kernels ...", flush=True)
    result["ratios"] = kernels.run_all("cpu", repeats=args.repeats)
    if torch.cuda.is_available():
        result["ratios"] += kernels.run_all("cuda", repeats=args.repeats)
    result["pending"] = copy.deepcopy(kernels.PENDING)
    result["gpu"] = gpu.run_gpu(steps=args.gpu_steps)
    result["machine"]["load_after"] = report.load_average()
    path = report.save(result, args.out)
    print()
    print(report.format_table(result))
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
