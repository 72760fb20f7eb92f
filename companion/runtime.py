"""Where code runs and how much work it does: device, seeding, run profile (Preface, "Running").

* :func:`get_device` picks CUDA, then Apple MPS, then the CPU, unless told otherwise.
* :func:`seed_everything` seeds Python, NumPy and torch so a chapter gives the same numbers.
* :func:`get_profile` returns the run profile: ``"small"`` (the default CPU profile that CI
  proves, each notebook under 60 s on two cores) or ``"large"`` (more data, epochs and
  bigger models), chosen automatically on a CUDA GPU or with ``COURSE_PROFILE=large``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

PROFILE_ENV = "COURSE_PROFILE"
DEVICE_ENV = "COURSE_DEVICE"
KNOWN_DEVICES = ("cuda", "mps", "cpu")
PROFILES = ("small", "large")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(preferred: str | None = None) -> torch.device:
    """Return the device to compute on.

    ``preferred`` (or the ``COURSE_DEVICE`` environment variable) may name ``"cuda"``,
    ``"cuda:1"``, ``"mps"`` or ``"cpu"``; asking for one that is not present raises
    ``RuntimeError`` rather than silently running somewhere else. Without a preference:
    CUDA, then Apple MPS, then CPU.
    """
    preferred = preferred or os.environ.get(DEVICE_ENV) or None
    if preferred is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = str(preferred).split(":")[0].lower()
    if kind not in KNOWN_DEVICES:
        raise ValueError(
            f"unknown device {preferred!r}; expected one of {', '.join(KNOWN_DEVICES)}"
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {preferred!r} requested but CUDA is not available here")
    if kind == "mps" and not _mps_available():
        raise RuntimeError(f"device {preferred!r} requested but Apple MPS is not available here")
    return torch.device(preferred)


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's, NumPy's and torch's generators (CPU and CUDA); return a torch generator.

    Bit-for-bit equality across *different* hardware is not promised (GPU kernels reduce
    in another order); the book states tolerances wherever it compares devices.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator is what libraries draw from
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Profile:
    """How much work a notebook does. Chapters scale their data, epochs and widths by it."""

    name: str

    @property
    def is_large(self) -> bool:
        return self.name == "large"

    def pick(self, small, large):
        """Return ``small`` in the default profile and ``large`` in the larger one."""
        return large if self.is_large else small


def get_profile(name: str | None = None) -> Profile:
    """Return the profile: ``name``, else ``$COURSE_PROFILE``, else large on CUDA, else small."""
    name = (
        name or os.environ.get(PROFILE_ENV) or ("large" if torch.cuda.is_available() else "small")
    )
    name = name.lower()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return Profile(name)


def is_quiet() -> bool:
    """True in CI and in book builds (``CI`` or ``COURSE_QUIET`` set): no progress bars."""
    return any(os.environ.get(var, "") not in ("", "0", "false") for var in ("CI", "COURSE_QUIET"))


def describe(device: torch.device, profile: Profile) -> str:
    """One line a setup cell prints: what runs where."""
    return f"torch {torch.__version__} | device: {device} | profile: {profile.name}"


@contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` CPU threads for torch and for NumPy/scikit-learn's BLAS.

    Tiny models (a few thousand parameters) train faster on one thread: with more, the
    threads mostly wait for each other, and on a busy machine many times slower. The
    previous settings are restored on exit.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)
