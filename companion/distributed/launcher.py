"""Run :mod:`companion.distributed.ddp_train` as a real multi-process job (Chapter 9, §9.4).

:func:`launch` starts ``torchrun --nproc_per_node=N`` (``python -m torch.distributed.run``) in a
subprocess on a free local port, waits for it with a wall-clock limit, and returns the dict that
rank 0 wrote (final weights, losses, all-reduce timings), loaded with ``weights_only=True``.
A failed job raises :class:`DistributedJobError` carrying the end of the job's output.

Arguments are validated as in :mod:`companion.validation` (``TypeError`` for a wrong type,
``ValueError`` for a wrong value, the message names the argument) before anything starts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from companion.distributed.ddp_train import MODES, check_world_size
from companion.validation import check_choice, check_positive, check_positive_int, describe

__all__ = ["DistributedJobError", "free_port", "launch", "torchrun_command"]

_REPO_ROOT = Path(__file__).resolve().parents[2]


class DistributedJobError(RuntimeError):
    """The multi-process job failed; the message ends with the last lines of its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it; we release it at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_command(nproc: int, port: int, script_args: list[str]) -> list[str]:
    """The ``torchrun`` command line for one node with ``nproc`` processes."""
    return [
        sys.executable, "-m", "torch.distributed.run",
        f"--nproc_per_node={nproc}", "--nnodes=1",
        "--master_addr=127.0.0.1", f"--master_port={port}",
        "-m", "companion.distributed.ddp_train", *script_args,
    ]  # fmt: skip


def launch(
    nproc: int = 2,
    *,
    mode: str = "ddp",
    steps: int = 30,
    global_batch: int = 64,
    lr: float = 0.1,
    seed: int = 0,
    timeout: float = 30.0,
    wall_timeout: float = 300.0,
    out: str | os.PathLike | None = None,
    extra_args: list[str] | tuple[str, ...] = (),
) -> dict:
    """Train with ``nproc`` processes under ``torchrun`` and return rank 0's result dict.

    * ``mode``: ``"ddp"``, ``"fsdp"`` (FSDP2 ``fully_shard``) or ``"both"`` (one job, two models).
    * ``timeout``: seconds any collective may wait for a peer before the job fails.
    * ``wall_timeout``: seconds the whole job may take before it is killed.
    * ``out``: where rank 0 writes the result (a temporary directory when ``None``).

    The result holds ``world_size``, ``backend``, ``<mode>_state`` (the final ``state_dict``),
    ``<mode>_losses`` (the global-batch loss per step), ``allreduce_seconds`` and, for FSDP,
    ``fsdp_full_param_bytes`` / ``fsdp_local_param_bytes``.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int):
        raise TypeError(f"nproc must be an int (the number of processes), got {describe(nproc)}")
    nproc = check_positive_int(nproc, "nproc")
    global_batch = check_positive_int(global_batch, "global_batch")
    try:
        check_world_size(nproc, global_batch)
    except ValueError as err:
        raise ValueError(f"nproc: {err}") from None
    mode = check_choice(mode, "mode", MODES)
    steps = check_positive_int(steps, "steps")
    lr = check_positive(lr, "lr")
    timeout = check_positive(timeout, "timeout")
    wall_timeout = check_positive(wall_timeout, "wall_timeout")
    if not isinstance(extra_args, (list, tuple)) or not all(isinstance(a, str) for a in extra_args):
        raise TypeError(f"extra_args must be a list of strings, got {describe(extra_args)}")
    with tempfile.TemporaryDirectory(prefix="ddp_") as tmp:
        path = Path(out) if out is not None else Path(tmp) / "result.pt"
        script_args = [
            f"--out={path}", f"--mode={mode}", f"--steps={steps}",
            f"--global-batch={global_batch}", f"--lr={lr}", f"--seed={seed}",
            f"--timeout={timeout}", *extra_args,
        ]  # fmt: skip
        env = dict(os.environ, OMP_NUM_THREADS="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
        for attempt in range(2):  # the free port may be taken between our check and torchrun's bind
            cmd = torchrun_command(nproc, free_port(), script_args)
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                      timeout=wall_timeout, check=False)  # fmt: skip
            except subprocess.TimeoutExpired as err:
                raise DistributedJobError(
                    f"the {nproc}-process job did not finish within wall_timeout={wall_timeout:g} s"
                ) from err
            output = (proc.stdout or "") + (proc.stderr or "")
            if proc.returncode == 0 or "address already in use" not in output.lower() or attempt:
                break
        if proc.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise DistributedJobError(
                f"the {nproc}-process job failed with exit code {proc.returncode}:\n{tail}"
            )
        if not path.exists():
            raise DistributedJobError(f"the job succeeded but wrote no result to {path}")
        return torch.load(path, weights_only=True)
