"""Checks for the exercises of Chapter 9 (scaling up).

* ``ch09-ring-allreduce``: a ring all-reduce written from scratch on simulated workers; the
  check sums the workers' tensors itself and counts what a ring must send (eq. ch09-ring).
* ``ch09-memory-13b``: gigabytes of parameters, gradients and optimiser state to train a
  13-billion-parameter model with mixed-precision Adam, and the fewest 80 GB GPUs that hold
  them when fully sharded (worked answer in the solution).
* ``ch09-compute-optimal``: the compute-optimal parameter count for a budget of 10²² FLOPs
  at 20 tokens per parameter (eq. ch09-compute-optimal).
"""

from __future__ import annotations

import math

import torch

from companion.exercises import CheckFailed, Passed, _as_tensor, as_integer, expect_close, passed

__all__ = ["check_compute_optimal", "check_memory_13b", "check_ring_allreduce"]


def check_ring_allreduce(ring_allreduce) -> Passed:
    """Exercise ch09-ring-allreduce: ``ring_allreduce(tensors)`` takes a list of ``p`` 1-D tensors
    of equal length ``n`` (divisible by ``p``), one per worker, and returns ``(results,
    sent)``: the list of ``p`` tensors every worker holds at the end (each the element-wise
    *sum*), and the number of elements each worker sent, ``2 (p − 1) n / p``.
    """
    if not callable(ring_allreduce):
        raise CheckFailed("ring_allreduce must be a function")
    for p, n, seed in ((2, 6, 0), (4, 12, 1), (5, 20, 2)):
        gen = torch.Generator().manual_seed(seed)
        workers = [torch.randn(n, generator=gen, dtype=torch.float64) for _ in range(p)]
        originals = [w.clone() for w in workers]
        want = torch.stack(originals).sum(0)
        out = ring_allreduce([w.clone() for w in workers])
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed("ring_allreduce must return a tuple (results, sent)")
        results, sent = out
        if not isinstance(results, (list, tuple)) or len(results) != p:
            raise CheckFailed(f"results must be a list of {p} tensors (one per worker) for p = {p}")
        for rank, r in enumerate(results):
            got = _as_tensor(r, f"worker {rank}'s result")
            if got.shape == want.shape and torch.allclose(got, want / p, rtol=1e-9, atol=1e-12):
                raise CheckFailed(
                    "the results are the mean, not the sum: an all-reduce with op SUM adds the "
                    "workers' tensors (DDP divides by p afterwards)"
                )
            if got.shape == want.shape and torch.allclose(got, originals[rank]):
                raise CheckFailed(f"worker {rank} still holds its own tensor: nothing was reduced")
            expect_close(got, want, f"worker {rank}'s result (p = {p}, n = {n})",
                         rtol=1e-9, atol=1e-12)  # fmt: skip
        sent = as_integer(sent, "sent")
        ring = 2 * (p - 1) * n // p
        if sent == ring:
            continue
        if sent == (p - 1) * n:
            raise CheckFailed(
                f"each worker sent {sent} elements, its whole tensor to every other worker: that "
                f"is a naive all-to-all; a ring sends chunks of n/p, 2(p-1) times ({ring})"
            )
        if sent == (p - 1) * n // p:
            raise CheckFailed(
                f"sent = {sent} counts only the reduce-scatter phase; the all-gather phase sends "
                f"as many elements again ({ring} in all)"
            )
        raise CheckFailed(
            f"each worker should send 2(p-1)n/p = {ring} elements for p = {p}, n = {n}; "
            f"you counted {sent}"
        )
    return passed("your ring all-reduce sums correctly and sends 2(p-1)n/p elements per worker")


def check_memory_13b(gigabytes, gpus) -> Passed:
    """Exercise ch09-memory-13b: 16 bytes per parameter → 208 GB; ⌈208/80⌉ = 3 GPUs."""
    expect_close(
        gigabytes, 16 * 13e9 / 1e9, "gigabytes", rtol=1e-3,
        hint="count 2 (bf16 weights) + 2 (bf16 gradients) + 4 (fp32 master) + 4 + 4 (Adam) bytes",
    )  # fmt: skip
    n = as_integer(gpus, "gpus")
    want = math.ceil(16 * 13e9 / 80e9)
    if n == math.floor(16 * 13e9 / 80e9):
        raise CheckFailed(f"{n} GPUs hold only {n * 80} GB: round up, not down")
    if n != want:
        raise CheckFailed(f"gpus is {n}; the smallest whole number of 80 GB GPUs is different")
    return passed("208 GB of state: three 80 GB GPUs when fully sharded, before any activation")


def check_compute_optimal(n_params) -> Passed:
    """Exercise ch09-compute-optimal: N = sqrt(C / (6·20)) for C = 1e22."""
    want = math.sqrt(1e22 / (6 * 20))
    got = _as_tensor(n_params, "n_params")
    if got.numel() == 1 and got.item() > 0:
        g = got.item()
        if math.isclose(g, 20 * want, rel_tol=1e-3):
            raise CheckFailed("that is the number of tokens D = 20 N, not the parameters N")
        if math.isclose(g, math.sqrt(1e22 / 20), rel_tol=1e-3):
            raise CheckFailed("you left out the 6 FLOPs per parameter per token: C = 6 N D")
    expect_close(n_params, want, "n_params", rtol=1e-3, hint="solve 6 · N · (20 N) = C for N")
    return passed(
        f"N ≈ {want / 1e9:.2f} billion parameters and D ≈ {20 * want / 1e9:.0f} billion tokens"
    )
