"""Data-parallel and fully sharded training with ``torch.distributed`` (Chapter 9, §9.4).

* :mod:`companion.distributed.ddp_train`: a training script for ``torchrun`` (DDP, and FSDP2's
  ``fully_shard``), runnable on its own:
  ``torchrun --nproc_per_node=2 -m companion.distributed.ddp_train --out result.pt``, or
  ``python -m companion.distributed.ddp_train`` which starts ``torchrun`` itself.
* :mod:`companion.distributed.launcher`: :func:`launch` runs that script as a real
  multi-process job from Python (the notebook and the tests use it) and returns its result;
  :func:`free_port` finds a free TCP port for the rendezvous.

The names below are imported lazily, so that ``python -m companion.distributed.ddp_train`` does
not import the script twice.
"""

__all__ = ["DistributedJobError", "free_port", "launch"]


def __getattr__(name: str):
    if name in __all__:
        from companion.distributed import launcher

        return getattr(launcher, name)
    raise AttributeError(f"module 'companion.distributed' has no attribute {name!r}")
