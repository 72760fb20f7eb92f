"""Timing with repeats, paired ratios, and the calibration workload (the Performance appendix).

Speed on a shared machine is noisy: another program can take a core away for a second. So

* every measurement is repeated and reported as a median with its spread (quartiles);
* a from-scratch and a fused implementation are timed *in pairs*, alternating which runs
  first, and the ratio is taken within each pair, so both sides of a ratio see the same load;
* notebook times are also expressed in units of a fixed **calibration workload** timed in the
  same run (:func:`calibration_workload`): a slower or busier machine makes both longer, so
  the units move much less than the seconds, and a slow machine is not called a regression.

Ratios are "as measured on this machine", never general facts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from companion.validation import (
    check_fraction,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) with linear interpolation (NumPy's default method)."""
    if not values:
        raise ValueError("values must not be empty (quantile of an empty list)")
    q = check_fraction(q, "q", include_one=True)
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Summary:
    """Median and quartiles of repeated measurements (seconds, or a unitless ratio)."""

    median: float
    q25: float
    q75: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        return cls(
            statistics.median(values), quantile(values, 0.25), quantile(values, 0.75), len(values)
        )

    def as_dict(self) -> dict:
        return asdict(self)


def synchronize(device: torch.device | str) -> None:
    """Wait for queued GPU work, so that a timer measures the work and not its launch."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_once(
    run: Callable[[object], object],
    prepare: Callable[[], object] | None = None,
    device: torch.device | str = "cpu",
) -> float:
    """Seconds taken by ``run(prepare())``; ``prepare`` (e.g. a forward pass before a timed
    backward pass) is not timed."""
    state = prepare() if prepare is not None else None
    synchronize(device)
    start = time.perf_counter()
    run(state)
    synchronize(device)
    return time.perf_counter() - start


def paired_ratio(
    scratch: tuple[Callable, Callable | None],
    fused: tuple[Callable, Callable | None],
    repeats: int = 7,
    warmup: int = 2,
    device: torch.device | str = "cpu",
) -> dict:
    """Time two implementations in alternating pairs; return the per-pair ratios' summary.

    ``scratch`` and ``fused`` are ``(run, prepare)`` pairs for :func:`time_once`. Returns
    ``{"scratch_s": Summary, "fused_s": Summary, "ratio": Summary}`` as dicts, where ratio is
    scratch time / fused time within each pair (> 1: the fused kernel is faster).
    """
    repeats = check_positive_int(repeats, "repeats")
    warmup = check_int(warmup, "warmup", min=0)
    for _ in range(warmup):
        time_once(*scratch, device=device)
        time_once(*fused, device=device)
    t_s, t_f = [], []
    for i in range(repeats):
        if i % 2 == 0:
            t_s.append(time_once(*scratch, device=device))
            t_f.append(time_once(*fused, device=device))
        else:
            t_f.append(time_once(*fused, device=device))
            t_s.append(time_once(*scratch, device=device))
    return ratio_summary(t_s, t_f)


def ratio_summary(scratch_times: list[float], fused_times: list[float]) -> dict:
    """Summaries of both timings and of the per-pair ratios scratch_i / fused_i."""
    if len(scratch_times) != len(fused_times) or not scratch_times:
        raise ValueError("need the same, non-zero number of scratch and fused timings")
    ratios = [s / f for s, f in zip(scratch_times, fused_times, strict=True)]
    return {
        "scratch_s": Summary.of(scratch_times).as_dict(),
        "fused_s": Summary.of(fused_times).as_dict(),
        "ratio": Summary.of(ratios).as_dict(),
    }


# ----------------------------------------------------------------------------- calibration
CALIBRATION_DESCRIPTION = (
    "fixed float32 work on one torch thread: 10 products of two 512x512 matrices, "
    "then 50 Adam steps of a 64-256-10 MLP on a fixed batch of 256 (seed 0)"
)


def calibration_workload() -> float:
    """Run the fixed calibration work once; return the seconds it took.

    A mix of what the notebooks do (dense linear algebra and a small training loop), a fraction
    of a second on a laptop core. Its inputs are seeded, so the same work is timed everywhere.
    """
    g = torch.Generator().manual_seed(0)
    a = torch.randn(512, 512, generator=g)
    b = torch.randn(512, 512, generator=g)
    x = torch.randn(256, 64, generator=g)
    y = torch.randint(0, 10, (256,), generator=g)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(10):
        a = (a @ b) / 512**0.5
    for _ in range(50):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def calibrate(repeats: int = 5, threaded_repeats: int = 3) -> dict:
    """Time the calibration workload on one thread (the unit) and on torch's default threads.

    The one-thread time measures the speed of a core and is the unit. The default-thread time
    is reported beside it: on a quiet machine it is at most the one-thread time; on a machine
    whose cores are busy with other programs, threads wait for each other and it can be many
    times longer (``contention`` = threaded / one-thread), which says how busy the machine was.
    """
    from companion.runtime import cpu_threads

    repeats = check_positive_int(repeats, "repeats")
    threaded_repeats = check_positive_int(threaded_repeats, "threaded_repeats")
    with cpu_threads(1):
        calibration_workload()  # warm-up
        runs = [calibration_workload() for _ in range(repeats)]
    threaded = [calibration_workload() for _ in range(threaded_repeats)]
    return {
        "seconds": statistics.median(runs),
        "runs": runs,
        "threaded_runs": threaded,
        "threads": torch.get_num_threads(),
        "contention": statistics.median(threaded) / statistics.median(runs) if threaded else None,
        "workload": CALIBRATION_DESCRIPTION,
    }


def combine_calibrations(*calibrations: dict) -> dict:
    """Pool calibrations of one run (e.g. before and after the notebooks): medians of all runs."""
    if not calibrations:
        raise ValueError("calibrations must not be empty")
    runs = [t for c in calibrations for t in c["runs"]]
    threaded = [t for c in calibrations for t in c["threaded_runs"]]
    one = statistics.median(runs)
    return {
        **calibrations[0],
        "seconds": one,
        "runs": runs,
        "threaded_runs": threaded,
        "contention": statistics.median(threaded) / one if threaded else None,
    }


def in_calibration_units(seconds: float, calibration_s: float) -> float:
    """A time expressed as a multiple of the calibration workload's time on the same machine."""
    return check_nonnegative(seconds, "seconds") / check_positive(calibration_s, "calibration_s")
