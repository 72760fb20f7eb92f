"""Data-parallel and fully sharded training with ``torch.distributed`` (Chapter 9, §9.4).

* :mod:`companion.distributed.ddp_train`: a training script for ``torchrun`` (DDP, and FSDP2's
  ``fully_shard``), runnable on its own:
  ``torchrun --nproc_per_node=2 -m companion.distributed.ddp_train --out result.pt``, or
  ``python -m companion.distributed.ddp_train`` which starts ``torchrun`` itself.
* :mod:`companion.distributed.launch`: :func:`launch` runs that script as a real multi-process
  job from Python (the notebook and the tests use it) and returns its result;
  :func:`free_port` finds a free TCP port for the rendezvous.
"""

from companion.distributed.launch import DistributedJobError, free_port, launch

__all__ = ["DistributedJobError", "free_port", "launch"]
