"""Two-process training with torch.distributed (Chapter 9, §9.4): real processes, gloo on the CPU.

* DDP (and FSDP2) with 2 processes under ``torchrun`` give the weights of single-process
  training on the combined batch (float32; tolerance 1e-5, observed about 1e-7).
* A process whose peer is killed, or stalls, exits with a clear error after the collective
  timeout (3 s here) instead of hanging; a stalled process stopped by SIGTERM cleans up.
* A world size that does not divide the batch is refused with a clear message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from companion.distributed import DistributedJobError, free_port, launch
from companion.distributed.ddp_train import (
    EXIT_BAD_CONFIG,
    EXIT_PEER_FAILED,
    main,
    train_reference,
    write_atomically,
)

STEPS, BATCH, LR = 12, 64, 0.1
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def job():
    return launch(2, mode="both", steps=STEPS, global_batch=BATCH, lr=LR, timeout=60)


def _max_gap(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in b)


def test_two_process_ddp_equals_single_process_on_the_combined_batch(job):
    ref, ref_losses = train_reference(STEPS, BATCH, LR, seed=0)
    assert job["world_size"] == 2 and job["backend"] == "gloo"
    for mode in ("ddp", "fsdp"):
        state = job[f"{mode}_state"]
        assert set(state) == set(ref)
        assert _max_gap(state, ref) < 1e-5, mode
        assert job[f"{mode}_losses"] == pytest.approx(ref_losses, rel=1e-5)
    assert ref_losses[-1] < ref_losses[0]


def test_wrong_references_are_far_from_ddp(job):
    """What DDP would give if it did not average: each rank on its own half, or summed gradients."""
    half, _ = train_reference(STEPS, BATCH // 2, LR, seed=0)  # one shard only, no communication
    doubled, _ = train_reference(STEPS, BATCH, 2 * LR, seed=0)  # gradients summed, not averaged
    assert _max_gap(job["ddp_state"], half) > 1e-3
    assert _max_gap(job["ddp_state"], doubled) > 1e-3


def test_fsdp_stores_half_the_parameters_per_process(job):
    full, local = job["fsdp_full_param_bytes"], job["fsdp_local_param_bytes"]
    assert local == full // 2  # every dimension sharded here is even
    assert set(job["allreduce_seconds"]) == {1_000, 100_000, 1_000_000}
    assert all(t > 0 for t in job["allreduce_seconds"].values())


def _spawn_pair(tmp_path, *extra):
    port = free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                   WORLD_SIZE="2", LOCAL_RANK=str(rank), OMP_NUM_THREADS="1",
                   PYTHONPATH=str(REPO))  # fmt: skip
        cmd = [sys.executable, "-m", "companion.distributed.ddp_train",
               f"--out={tmp_path / 'r.pt'}",
               "--steps=8", "--timeout=3", "--allreduce-sizes", *extra]  # fmt: skip
        procs.append(
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    return procs


def test_killed_peer_gives_an_error_not_a_hang(tmp_path):
    rank0, rank1 = _spawn_pair(tmp_path, "--die-rank=1", "--fail-at-step=2")
    try:
        _, err = rank0.communicate(timeout=240)  # a safety net only: the job's own timeout is 3 s
    finally:
        rank0.kill()
        rank1.kill()
    rank1.wait()
    assert rank1.returncode == -signal.SIGKILL
    assert rank0.returncode == EXIT_PEER_FAILED, err
    assert "a peer died or did not answer within the timeout of 3 s" in err
    assert not (tmp_path / "r.pt").exists()


def test_stalled_peer_times_out_and_sigterm_cleans_up(tmp_path):
    rank0, rank1 = _spawn_pair(tmp_path, "--stall-rank=1", "--fail-at-step=2")
    try:
        _, err0 = rank0.communicate(timeout=240)
        rank1.send_signal(signal.SIGTERM)  # what torchrun does to the survivors
        _, err1 = rank1.communicate(timeout=240)
    finally:
        rank0.kill()
        rank1.kill()
    assert rank0.returncode == EXIT_PEER_FAILED, err0
    assert "timeout of 3 s" in err0
    assert rank1.returncode == 130, err1
    assert "interrupted; process group destroyed" in err1


def test_bad_world_size_is_refused_before_any_process_group(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert main([f"--out={tmp_path / 'x.pt'}", "--global-batch=64"]) == EXIT_BAD_CONFIG
    assert "world_size 3 does not divide the global batch of 64" in capsys.readouterr().err
    assert not torch.distributed.is_initialized()
    with pytest.raises(ValueError, match="nproc"):
        launch(3, global_batch=64)


def test_failed_job_raises_with_its_output():
    with pytest.raises(DistributedJobError, match="exit code"):
        launch(2, steps=2, extra_args=["--fail-at-step=-5", "--n=0"])  # the script refuses --n 0


def test_write_atomically_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "out.pt"
    write_atomically({"a": torch.ones(2)}, str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["out.pt"]
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


@pytest.mark.gpu
def test_nccl_single_gpu_matches_cpu_reference():
    """NCCL backend (world size 1 on one GPU; 2 with two GPUs) against the CPU reference."""
    nproc = 2 if torch.cuda.device_count() >= 2 else 1
    result = launch(
        nproc, mode="ddp", steps=STEPS, global_batch=BATCH, lr=LR, extra_args=["--backend=nccl"]
    )
    ref, _ = train_reference(STEPS, BATCH, LR, seed=0)
    assert result["backend"] == "nccl"
    assert _max_gap(result["ddp_state"], ref) < 1e-4  # GPU kernels reduce in another order
