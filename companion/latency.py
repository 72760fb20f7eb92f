"""Latency and throughput of a model on this machine (Chapter 13, section 13.2).

* :func:`measure_latency` times ``model(x)`` for each batch size: ``repeats`` timed calls
  after ``warmup`` untimed ones, in inference mode, the batch sizes interleaved (round
  robin) so that a burst of load from other programs does not fall on one size only. It
  reports the **median** and the **p95** of the per-call latency (a mean hides the slow
  tail) and the throughput ``batch / median`` in examples per second.
* :func:`dynamic_int8` is PyTorch's dynamic int8 quantisation (``quantize_dynamic`` on the
  ``nn.Linear`` layers: weights stored as int8, activations quantised on the fly); it is
  deprecated in torch 2.13 in favour of ``torchao`` but still the one-line CPU path.
  Chapter 10 ({doc}`ch10_compression`) explains the arithmetic.
* :func:`state_dict_bytes` - the size of the weights as ``torch.save`` writes them.
* :func:`simulate_dynamic_batching` - a discrete-event simulation of a server that groups
  waiting requests into one batch (up to ``max_batch``, waiting at most ``max_wait`` for the
  first request's batch to fill), using measured service times per batch size.

All timings are "as measured on this machine": they depend on the CPU, the thread count
and what else runs. Policy: arguments are validated with :mod:`companion.validation`;
inputs are not converted silently.
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .validation import check_int, check_nonnegative, check_positive_int, check_tensor, describe


@dataclass(frozen=True)
class LatencyPoint:
    batch: int
    median_s: float  # median seconds per call
    p95_s: float  # 95th percentile of seconds per call
    throughput: float  # examples per second at the median latency


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    return model


def _sync(x: torch.Tensor) -> None:
    if x.is_cuda:
        torch.cuda.synchronize(x.device)


def measure_latency(
    model: nn.Module,
    example: torch.Tensor,
    batch_sizes: Sequence[int],
    *,
    repeats: int = 30,
    warmup: int = 3,
) -> list[LatencyPoint]:
    """Time ``model`` on batches of each size in ``batch_sizes``, built by repeating ``example``.

    ``example``: one input *without* the batch dimension, e.g. (64,) or (1, 28, 28).
    """
    model = _check_model(model)
    check_tensor(example, "example")
    if isinstance(batch_sizes, (int, str)) or not isinstance(batch_sizes, Sequence):
        raise TypeError(f"batch_sizes must be a list of ints, got {describe(batch_sizes)}")
    sizes = [check_positive_int(b, "batch_sizes") for b in batch_sizes]
    if not sizes:
        raise ValueError("batch_sizes must hold at least one batch size")
    repeats = check_int(repeats, "repeats", min=2)
    warmup = check_int(warmup, "warmup", min=0)
    model.eval()
    inputs = [example.unsqueeze(0).expand(b, *example.shape).contiguous() for b in sizes]
    times = np.empty((repeats, len(sizes)))
    with torch.inference_mode():
        for x in inputs:
            for _ in range(warmup):
                model(x)
        # Repeats outermost: a burst of load from other programs hits every batch size alike.
        for r in range(repeats):
            for j, x in enumerate(inputs):
                _sync(x)
                start = time.perf_counter()
                model(x)
                _sync(x)  # CUDA runs asynchronously: wait for the result before stopping
                times[r, j] = time.perf_counter() - start
    points = []
    for j, b in enumerate(sizes):
        median = float(np.median(times[:, j]))
        points.append(LatencyPoint(b, median, float(np.percentile(times[:, j], 95)), b / median))
    return points


def dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` dynamically quantised to int8 (CPU only)."""
    model = _check_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API's deprecation notes (torch 2.13)
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes that ``torch.save(model.state_dict())`` writes: the size of the weights on disk."""
    model = _check_model(model)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def simulate_dynamic_batching(
    arrivals: np.ndarray,
    service_time: Callable[[int], float],
    *,
    max_batch: int,
    max_wait: float,
) -> np.ndarray:
    """Per-request latency (finish - arrival) of a single-worker server with dynamic batching.

    ``arrivals``: sorted arrival times (seconds). When the worker is free and a request
    waits, it starts a batch as soon as ``max_batch`` requests wait or the oldest has waited
    ``max_wait`` seconds, whichever comes first; the batch takes ``service_time(size)``.
    ``max_batch=1`` is a plain first-come, first-served queue (no batching).
    """
    if not isinstance(arrivals, np.ndarray) or arrivals.ndim != 1 or arrivals.size == 0:
        raise TypeError(f"arrivals must be a non-empty 1-D NumPy array, got {describe(arrivals)}")
    if not np.all(np.isfinite(arrivals)) or np.any(np.diff(arrivals) < 0):
        raise ValueError("arrivals must be finite and sorted in increasing order")
    if not callable(service_time):
        raise TypeError(
            f"service_time must be a function of the batch size, got {describe(service_time)}"
        )
    max_batch = check_positive_int(max_batch, "max_batch")
    max_wait = check_nonnegative(max_wait, "max_wait")
    n, finish = len(arrivals), np.empty(len(arrivals))
    free_at, i = 0.0, 0
    while i < n:
        oldest = max(arrivals[i], free_at)  # when the worker could first look at request i
        full_at = arrivals[min(i + max_batch, n) - 1]  # when max_batch requests are waiting
        start = max(oldest, min(full_at, arrivals[i] + max_wait))
        j = i
        while j < n and j - i < max_batch and arrivals[j] <= start:
            j += 1
        duration = float(service_time(j - i))
        if not np.isfinite(duration) or duration < 0:
            raise ValueError(f"service_time({j - i}) must be a finite time >= 0, got {duration}")
        free_at = start + duration
        finish[i:j] = free_at
        i = j
    return finish - arrivals
