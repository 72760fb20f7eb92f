"""Bad input to companion.benchmark (make bench): each a clear error naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.benchmark import gpu, report, timing
from tests.badinput.harness import expect_clear_error

FPT = 854_654_976  # GPT-2 small at T = 1024 (tests/test_bench.py computes it by hand)
NOOP = (lambda _: None, None)

CASES = [
    # MFU: rates must be finite numbers in range
    ("negative throughput", lambda: gpu.mfu(-1.0, FPT, 989.4e12), "tokens_per_s", ValueError),
    ("NaN throughput", lambda: gpu.mfu(float("nan"), FPT, 989.4e12), "tokens_per_s", ValueError),
    ("throughput as a string", lambda: gpu.mfu("4e5", FPT, 989.4e12), "tokens_per_s", TypeError),
    ("throughput as a bool", lambda: gpu.mfu(True, FPT, 989.4e12), "tokens_per_s", TypeError),
    ("zero FLOPs per token", lambda: gpu.mfu(1.0, 0, 989.4e12), "flops_token", ValueError),
    ("infinite peak", lambda: gpu.mfu(1.0, FPT, float("inf")), "peak_flops", ValueError),
    ("negative peak", lambda: gpu.mfu(1.0, FPT, -1e12), "peak_flops", ValueError),
    ("peak as a tensor list", lambda: gpu.mfu(1.0, FPT, [989.4e12]), "peak_flops", TypeError),
    # throughput runs
    ("unknown model size", lambda: gpu.train_throughput("gpt5", "cpu"), "size", ValueError),
    ("zero steps", lambda: gpu.train_throughput("char-6L-384", "cpu", steps=0), "steps",
     ValueError),
    ("float steps", lambda: gpu.train_throughput("char-6L-384", "cpu", steps=2.5), "steps",
     TypeError),
    ("negative warm-up", lambda: gpu.train_throughput("char-6L-384", "cpu", warmup=-1), "warmup",
     ValueError),
    ("compile as a string", lambda: gpu.train_throughput("char-6L-384", "cpu", compile="no"),
     "compile", TypeError),
    ("zero batch", lambda: gpu.train_throughput("char-6L-384", "cpu", batch=0), "batch",
     ValueError),
    # timing and calibration units
    ("quantile above 1", lambda: timing.quantile([1.0, 2.0], 1.5), "q", ValueError),
    ("percent instead of fraction", lambda: timing.quantile([1.0, 2.0], 50), "q", ValueError),
    ("quantile of nothing", lambda: timing.quantile([], 0.5), "values", ValueError),
    ("zero repeats", lambda: timing.paired_ratio(NOOP, NOOP, repeats=0), "repeats", ValueError),
    ("bool repeats", lambda: timing.paired_ratio(NOOP, NOOP, repeats=True), "repeats", TypeError),
    ("negative warm-up runs", lambda: timing.paired_ratio(NOOP, NOOP, warmup=-1), "warmup",
     ValueError),
    ("zero calibration time", lambda: timing.in_calibration_units(1.0, 0.0), "calibration_s",
     ValueError),
    ("NaN calibration time", lambda: timing.in_calibration_units(1.0, float("nan")),
     "calibration_s", ValueError),
    ("negative seconds", lambda: timing.in_calibration_units(-3.0, 1.0), "seconds", ValueError),
    ("seconds as a tensor", lambda: timing.in_calibration_units(torch.ones(2), 1.0), "seconds",
     TypeError),
    ("mismatched timings", lambda: timing.ratio_summary([1.0, 2.0], [1.0]), "scratch",
     ValueError),
    ("zero calibration repeats", lambda: timing.calibrate(repeats=0), "repeats", ValueError),
    # bench.json
    ("a list instead of the object", lambda: report.check_result([]), "top level", ValueError),
    ("a result without notebooks", lambda: report.check_result({"schema": 1}), "created",
     ValueError),
]  # fmt: skip


@pytest.mark.parametrize("what, call, name, kind", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(what, call, name, kind):
    expect_clear_error(call, name, kind=kind)


@pytest.mark.parametrize("value", [400_000, 400_000.0, np.float64(400_000), np.int64(400_000)])
def test_every_common_number_type_is_accepted_with_the_same_answer(value):
    """Accepted inputs give the answer of an independent hand computation."""
    assert gpu.mfu(value, FPT, 989.4e12) == pytest.approx(400_000 * FPT / 989.4e12, rel=1e-12)
    assert timing.in_calibration_units(value, 4) == pytest.approx(100_000.0)
