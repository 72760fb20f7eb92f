"""The Chapter 9 exercise checks accept right answers and name the usual slips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed
from companion.exercises.ch09 import check_compute_optimal, check_memory_13b, check_ring_allreduce


def _ring(mean=False, count="ring", gather=True):
    def ring_allreduce(tensors):
        p = len(tensors)
        chunks = [list(t.chunk(p)) for t in tensors]
        sent = 0
        for step in range(p - 1):  # reduce-scatter
            for r in range(p):
                c = (r - step) % p
                chunks[(r + 1) % p][c] = chunks[(r + 1) % p][c] + chunks[r][c]
            sent += len(chunks[0][0])
        if gather:
            for step in range(p - 1):  # all-gather
                for r in range(p):
                    c = (r + 1 - step) % p
                    chunks[(r + 1) % p][c] = chunks[r][c].clone()
                sent += len(chunks[0][0])
        results = [torch.cat(c) for c in chunks]
        if mean:
            results = [r / p for r in results]
        n = len(tensors[0])
        return results, {"ring": sent, "naive": (p - 1) * n, "half": sent // 2 if gather else sent}[
            count
        ]

    return ring_allreduce


def test_ring_right_answer_passes():
    assert check_ring_allreduce(_ring())


def test_ring_numpy_results_and_numpy_count_pass():
    def numpy_ring(tensors):
        res, sent = _ring()(tensors)
        return [r.numpy() for r in res], np.int64(sent)

    assert check_ring_allreduce(numpy_ring)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_ring(mean=True), "the mean, not the sum"),
        (_ring(count="naive"), "naive all-to-all"),
        (_ring(count="half"), "only the reduce-scatter phase"),
        (_ring(gather=False), "worker 0's result"),  # only one chunk is complete on each worker
        (lambda ts: (ts, 0), "still holds its own tensor"),
        (lambda ts: ts, "must return a tuple"),
        (lambda ts: (ts[:1], 2), "list of 2 tensors"),
    ],
)
def test_ring_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_ring_allreduce(wrong)


def test_ring_not_callable():
    with pytest.raises(CheckFailed, match="must be a function"):
        check_ring_allreduce(3)


@pytest.mark.parametrize(
    "gb", [208, 208.0, np.float64(208.0), np.int64(208), torch.tensor(208.0), 16 * 13e9 / 1e9]
)
@pytest.mark.parametrize("gpus", [3, 3.0, np.int64(3), torch.tensor(3)])
def test_memory_right_answers_pass(gb, gpus):
    assert check_memory_13b(gb, gpus)


@pytest.mark.parametrize(
    ("gb", "gpus", "message"),
    [
        (104, 3, "gigabytes is 104"),  # bf16 weights + grads + one Adam moment only
        (52, 1, "gigabytes is 52"),  # weights alone in fp32
        (208e9, 3, "off by a factor"),  # bytes, not gigabytes
        (208, 2, "round up, not down"),
        (208, 4, "gpus is 4"),
        (208, 2.5, "whole number"),
    ],
)
def test_memory_wrong_answers_fail(gb, gpus, message):
    with pytest.raises(CheckFailed, match=message):
        check_memory_13b(gb, gpus)


N_OPT = math.sqrt(1e22 / 120)


@pytest.mark.parametrize(
    "n", [N_OPT, np.float64(N_OPT), torch.tensor(N_OPT), int(N_OPT), round(N_OPT, -6)]
)
def test_compute_optimal_right_answers_pass(n):
    assert check_compute_optimal(n)


@pytest.mark.parametrize(
    ("n", "message"),
    [
        (20 * N_OPT, "number of tokens"),
        (math.sqrt(1e22 / 20), "left out the 6 FLOPs"),
        (1e22 / 120, "n_params is"),
        (-N_OPT, "sign is wrong"),
    ],
)
def test_compute_optimal_wrong_answers_fail(n, message):
    with pytest.raises(CheckFailed, match=message):
        check_compute_optimal(n)
