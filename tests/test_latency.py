"""companion.latency: timings have the right shape, int8 keeps the answers, and the
dynamic-batching simulation equals a queue computed by hand (Chapter 13.2)."""

import numpy as np
import pytest
import torch
from torch import nn

from companion.latency import (
    dynamic_int8,
    measure_latency,
    simulate_dynamic_batching,
    state_dict_bytes,
)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).eval()


def test_measure_latency_points():
    points = measure_latency(_mlp(), torch.randn(64), [1, 8, 32], repeats=5, warmup=1)
    assert [p.batch for p in points] == [1, 8, 32]
    for p in points:
        assert 0 < p.median_s <= p.p95_s
        assert p.throughput == pytest.approx(p.batch / p.median_s)


def test_dynamic_int8_is_close_to_float_and_smaller():
    model = _mlp()
    q = dynamic_int8(model)
    x = torch.randn(256, 64)
    with torch.no_grad():
        full, low = model(x), q(x)
    assert (full - low).abs().max() < 0.05 * full.abs().max()
    assert (full.argmax(1) == low.argmax(1)).float().mean() > 0.95
    assert not torch.equal(full, low)  # it really is a different (quantised) computation
    assert state_dict_bytes(q) < 0.4 * state_dict_bytes(model)
    assert isinstance(model[0], nn.Linear)  # the original is untouched


def _fifo(arrivals, service):
    """Independent reference for max_batch=1: Lindley's recursion for a single-server queue."""
    finish, free = [], 0.0
    for a in arrivals:
        free = max(free, a) + service
        finish.append(free)
    return np.array(finish) - arrivals


def test_no_batching_is_a_fifo_queue():
    rng = np.random.default_rng(0)
    arrivals = np.cumsum(rng.exponential(0.01, size=300))
    got = simulate_dynamic_batching(arrivals, lambda b: 0.008 * b, max_batch=1, max_wait=0.0)
    np.testing.assert_allclose(got, _fifo(arrivals, 0.008))


def test_batching_by_hand():
    arrivals = np.array([0.0, 0.1, 0.2, 0.25, 1.0])
    # max_batch 2, wait up to 0.15: [0, 0.1] start at 0.1 (full) and end at 0.6;
    # [0.2, 0.25] are both waiting at 0.6 -> end 1.1; [1.0] waits until 1.1 -> ends 1.6.
    got = simulate_dynamic_batching(arrivals, lambda b: 0.5, max_batch=2, max_wait=0.15)
    np.testing.assert_allclose(got, [0.6, 0.5, 0.9, 0.85, 0.6])
    # With max_wait 0.05 the first leaves alone at 0.05; [0.1, 0.2] go at 0.55,
    # [0.25, 1.0] at 1.05.
    got = simulate_dynamic_batching(arrivals, lambda b: 0.5, max_batch=2, max_wait=0.05)
    np.testing.assert_allclose(got, [0.55, 0.95, 0.85, 1.3, 0.55])


def test_batching_helps_under_load_when_batches_are_cheap():
    rng = np.random.default_rng(1)
    arrivals = np.cumsum(rng.exponential(0.004, size=2000))  # 250 requests/s
    cost = lambda b: 0.003 + 0.001 * b  # noqa: E731 - fixed overhead + per-example cost
    single = simulate_dynamic_batching(arrivals, cost, max_batch=1, max_wait=0.0)
    batched = simulate_dynamic_batching(arrivals, cost, max_batch=16, max_wait=0.002)
    assert (
        np.median(batched) < np.median(single) / 5
    )  # 1 / 0.004 s > 250/s: one at a time saturates


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_latency_on_cuda_matches_cpu_outputs():
    """On a GPU the timings synchronise, and the model computes what it computes on the CPU
    (float32 matmuls on CUDA may use TF32: tolerance 1e-2 relative to the logits' scale)."""
    model = _mlp()
    x = torch.randn(64, 64)
    with torch.no_grad():
        cpu = model(x)
        gpu = model.cuda()(x.cuda()).cpu()
    assert (gpu - cpu).abs().max() <= 1e-2 * cpu.abs().max()
    points = measure_latency(model, x[0].cuda(), [1, 32], repeats=5)
    assert all(p.median_s > 0 for p in points)
