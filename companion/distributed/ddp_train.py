"""Data-parallel training launched by ``torchrun`` (Chapter 9, §9.4).

Run it on one machine with two processes (gloo on the CPU, NCCL on GPUs)::

    torchrun --nproc_per_node=2 -m companion.distributed.ddp_train --out result.pt

or ``python -m companion.distributed.ddp_train --out result.pt``, which starts ``torchrun``
itself on a free port (:func:`companion.distributed.launcher.launch`). On a cluster, start the
same command on every node with ``--nnodes``, ``--node-rank`` and a rendezvous address
(the chapter shows the command line).

What each process does (``RANK`` ``r`` of ``WORLD_SIZE`` ``W``, set by ``torchrun``):

1. builds the same small classifier from the same seed, and the same synthetic data set;
2. at every step takes rows ``r, r + W, r + 2W, …`` of the global batch of ``B`` rows (its
   shard of ``B / W`` rows) and computes the mean loss on its shard;
3. ``DistributedDataParallel`` all-reduces (averages) the gradients during ``backward``, so
   every process applies the gradient of the whole batch and the weights stay identical:
   the result equals single-process training on the combined batch (:func:`train_reference`,
   tested in ``tests/test_distributed.py``);
4. with ``--mode fsdp`` (or ``both``) the model is instead sharded with FSDP2's
   ``torch.distributed.fsdp.fully_shard``: each process stores ``1/W`` of every parameter,
   gradient and optimiser state, and gathers full weights only layer by layer when needed;
5. times ``all_reduce`` for a few tensor sizes; rank 0 writes the final weights, losses and
   timings to ``--out`` atomically (a temporary file, then ``os.replace``).

Reliability: a world size that does not divide the global batch is refused before any
process group exists; every collective has a deadline (``--timeout`` seconds, passed to
``init_process_group``), so a process whose peer died or stalled exits with an error naming the
timeout instead of hanging; the process group is destroyed on success, error, Ctrl-C and
SIGTERM. ``--die-rank``/``--stall-rank`` make one process die or stall on purpose (tests).
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import time

import torch
from torch import nn

MODES = ("ddp", "fsdp", "both")
EXIT_BAD_CONFIG = 2
EXIT_PEER_FAILED = 3


def build_model(seed: int, n_features: int = 20, hidden: int = 32, n_classes: int = 4) -> nn.Module:
    """The classifier every process builds: ``n_features → hidden → hidden → n_classes``."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(n_features, hidden),
        nn.Tanh(),
        nn.Linear(hidden, hidden),
        nn.Tanh(),
        nn.Linear(hidden, n_classes),
    )


def make_data(seed: int, n: int, n_features: int = 20, n_classes: int = 4):
    """(n, n_features) float32 inputs and labels of a fixed random 'teacher', same everywhere."""
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(n, n_features, generator=gen)
    W = torch.randn(n_features, n_classes, generator=gen)
    y = (X @ W + 0.5 * torch.randn(n, n_classes, generator=gen)).argmax(1)
    return X, y


def batch_rows(step: int, global_batch: int, n: int) -> torch.Tensor:
    """Row indices of the global batch at ``step`` (a fixed cyclic pass over the data)."""
    start = (step * global_batch) % n
    return (torch.arange(global_batch) + start) % n


def train_reference(steps: int, global_batch: int, lr: float, seed: int, n: int = 512):
    """Single-process training on the whole global batch: what DDP must reproduce.

    Returns (state_dict, losses) with the loss of each step on the global batch.
    """
    model = build_model(seed)
    X, y = make_data(seed, n)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for step in range(steps):
        rows = batch_rows(step, global_batch, n)
        loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, losses


def check_world_size(world_size: int, global_batch: int) -> None:
    """Refuse a world size that cannot split the global batch evenly (clear message, no hang)."""
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    if global_batch % world_size:
        raise ValueError(
            f"world_size {world_size} does not divide the global batch of {global_batch} rows: "
            f"each process must get the same number of rows (choose --nproc_per_node among the "
            f"divisors of {global_batch}, or change --global-batch)"
        )


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="result file written by rank 0 (torch.save)")
    p.add_argument("--mode", choices=MODES, default="ddp")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--global-batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=512, help="rows of the synthetic data set")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a collective may wait")
    p.add_argument(
        "--backend",
        choices=("auto", "gloo", "nccl"),
        default="auto",
        help="auto: NCCL with one GPU per process if there are enough, else gloo",
    )
    p.add_argument("--allreduce-sizes", type=int, nargs="*", default=[1_000, 100_000, 1_000_000])
    p.add_argument("--die-rank", type=int, default=-1, help="(tests) this rank kills itself")
    p.add_argument("--stall-rank", type=int, default=-1, help="(tests) this rank stops responding")
    p.add_argument("--fail-at-step", type=int, default=3)
    args = p.parse_args(argv)
    for name in ("steps", "global_batch", "n"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    return args


def _train(model, args, rank, world, device, losses_out):
    X, y = make_data(args.seed, args.n)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    for step in range(args.steps):
        if step == args.fail_at_step and rank == args.die_rank:
            os.kill(os.getpid(), signal.SIGKILL)  # a crashed peer: no clean-up, no goodbye
        if step == args.fail_at_step and rank == args.stall_rank:
            time.sleep(10 * args.timeout)  # a hung peer: alive but silent
        rows = batch_rows(step, args.global_batch, args.n)[rank::world]  # this rank's shard
        loss = nn.functional.cross_entropy(model(X[rows].to(device)), y[rows].to(device))
        opt.zero_grad()
        loss.backward()  # DDP/FSDP average the gradients over all ranks here
        opt.step()
        global_loss = loss.detach().clone()
        torch.distributed.all_reduce(global_loss)  # the mean over the whole batch, for the log
        losses_out.append(global_loss.item() / world)


def _time_allreduce(sizes, device, repeats=5):
    timings = {}
    for size in sizes:
        t = torch.ones(size, device=device)
        torch.distributed.all_reduce(t)  # warm-up
        times = []
        for _ in range(repeats):
            torch.distributed.barrier()
            start = time.perf_counter()
            torch.distributed.all_reduce(t)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        timings[int(size)] = sorted(times)[repeats // 2]
    return timings


def run(args: argparse.Namespace) -> dict | None:
    """Train under an initialised environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ...)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    check_world_size(world, args.global_batch)
    backend = args.backend
    if backend == "auto":  # NCCL needs one GPU per process on this node; else gloo on the CPU
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        enough_gpus = torch.cuda.is_available() and torch.cuda.device_count() >= local_world
        backend = "nccl" if enough_gpus else "gloo"
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=args.timeout))
    result = {"world_size": world, "backend": backend, "device": str(device), "mode": args.mode}
    start = time.perf_counter()
    if args.mode in ("ddp", "both"):
        model = build_model(args.seed).to(device)
        ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
        losses = []
        _train(ddp, args, rank, world, device, losses)
        result["ddp_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        result["ddp_losses"] = losses
    if args.mode in ("fsdp", "both"):
        from torch.distributed.fsdp import fully_shard

        model = build_model(args.seed).to(device)
        full_bytes = sum(p.nbytes for p in model.parameters())
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)  # each Linear is one unit: gathered just before it runs
        fully_shard(model)
        local_bytes = sum(p.to_local().nbytes for p in model.parameters())
        losses = []
        _train(model, args, rank, world, device, losses)
        state = {k: v.full_tensor().detach().cpu().clone() for k, v in model.state_dict().items()}
        result["fsdp_state"] = state
        result["fsdp_losses"] = losses
        result["fsdp_full_param_bytes"] = full_bytes
        result["fsdp_local_param_bytes"] = local_bytes
    result["train_seconds"] = time.perf_counter() - start
    result["allreduce_seconds"] = _time_allreduce(args.allreduce_sizes, device)
    return result if rank == 0 else None


def write_atomically(obj, path: str) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: no half-written result."""
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if "RANK" not in os.environ:  # started as a plain script: start torchrun ourselves
        from companion.distributed.launcher import launch

        result = launch(2, mode=args.mode, steps=args.steps, global_batch=args.global_batch,
                        lr=args.lr, seed=args.seed, timeout=args.timeout, out=args.out)  # fmt: skip
        print(f"trained with {result['world_size']} processes ({result['backend']}); "
              f"final loss {result[args.mode.replace('both', 'ddp') + '_losses'][-1]:.4f}; "
              f"result in {args.out}")  # fmt: skip
        return 0
    rank = int(os.environ["RANK"])
    try:
        check_world_size(int(os.environ["WORLD_SIZE"]), args.global_batch)
    except ValueError as err:
        print(f"rank {rank}: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    signal.signal(signal.SIGTERM, _raise_interrupt)  # torchrun stops workers with SIGTERM
    import torch.distributed as dist

    try:
        result = run(args)
        if result is not None:
            write_atomically(result, args.out)
        return 0
    except KeyboardInterrupt:
        print(f"rank {rank}: interrupted; process group destroyed", file=sys.stderr)
        return 130
    except (RuntimeError, dist.DistBackendError) as err:
        print(
            f"rank {rank}: a collective failed: a peer died or did not answer within "
            f"the timeout of {args.timeout:g} s ({type(err).__name__}: {str(err).splitlines()[0]})",
            file=sys.stderr,
        )
        return EXIT_PEER_FAILED
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
