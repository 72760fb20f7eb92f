"""Where code runs and how much work it does: device, seeding, run profile (Preface, "Running").

* :func:`get_device` picks CUDA, then Apple MPS, then the CPU, unless told otherwise.
* :func:`seed_everything` seeds Python, NumPy and torch so a chapter gives the same numbers.
* :func:`get_profile` returns the run profile: ``"small"`` (the default CPU profile that CI
  proves, each notebook under 60 s on two cores) or ``"large"`` (more data, epochs and
  bigger models), chosen automatically on a CUDA GPU or with ``COURSE_PROFILE=large``.

Names of devices and profiles are case- and space-insensitive (``"CPU"``, ``" Large"``);
anything else, from an argument or from ``COURSE_DEVICE``/``COURSE_PROFILE``, is a
``ValueError`` that names where the value came from (see :mod:`companion.validation`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from companion.validation import check_choice, check_int, check_positive_int

PROFILE_ENV = "COURSE_PROFILE"
DEVICE_ENV = "COURSE_DEVICE"
KNOWN_DEVICES = ("cuda", "mps", "cpu")
PROFILES = ("small", "large")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def as_device(value: str | torch.device, name: str = "device") -> torch.device:
    """A device from a name such as ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"cpu"``.

    Names are case- and space-insensitive (``"CPU"`` is ``"cpu"``); anything else is a
    ``ValueError`` (``TypeError`` for a non-string) naming ``name``. Asking for CUDA or MPS
    where it is not present raises ``RuntimeError`` rather than silently running elsewhere.
    """
    if isinstance(value, torch.device):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        raise TypeError(
            f"{name} must be a device name such as 'cpu' or 'cuda', or a torch.device, "
            f"got {type(value).__name__} {value!r}"
        )
    kind, _, index = text.partition(":")
    if kind not in KNOWN_DEVICES or (index and not index.isdigit()):
        raise ValueError(
            f"{name} {value!r} is not a device; expected one of "
            f"{', '.join(KNOWN_DEVICES)} (or 'cuda:N' for the N-th GPU)"
        )
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"{name} {value!r} requested but CUDA is not available here")
        if index and int(index) >= torch.cuda.device_count():
            raise RuntimeError(
                f"{name} {value!r} requested but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    if kind == "mps" and not _mps_available():
        raise RuntimeError(f"{name} {value!r} requested but Apple MPS is not available here")
    return torch.device(text)


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on.

    ``preferred`` (or the ``COURSE_DEVICE`` environment variable) may name ``"cuda"``,
    ``"cuda:1"``, ``"mps"`` or ``"cpu"`` (any case); see :func:`as_device`. Without a
    preference: CUDA, then Apple MPS, then CPU.
    """
    if preferred is not None:
        return as_device(preferred, "preferred")
    from_env = os.environ.get(DEVICE_ENV, "").strip()
    if from_env:
        return as_device(from_env, DEVICE_ENV)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's, NumPy's and torch's generators (CPU and CUDA); return a torch generator.

    Bit-for-bit equality across *different* hardware is not promised (GPU kernels reduce
    in another order); the book states tolerances wherever it compares devices.
    """
    seed = check_int(seed, "seed", min=0, max=2**32 - 1)  # NumPy's legacy seeds are 32-bit
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator is what libraries draw from
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Profile:
    """How much work a notebook does. Chapters scale their data, epochs and widths by it."""

    name: str

    def __post_init__(self):
        check_choice(self.name, "name", PROFILES)

    @property
    def is_large(self) -> bool:
        return self.name == "large"

    def pick(self, small, large):
        """Return ``small`` in the default profile and ``large`` in the larger one."""
        return large if self.is_large else small


def get_profile(name: str | None = None) -> Profile:
    """Return the profile: ``name``, else ``$COURSE_PROFILE``, else large on CUDA, else small.

    Names are case- and space-insensitive; anything but ``small``/``large`` is an error that
    names where the value came from (the argument or ``COURSE_PROFILE``).
    """
    source = "name"
    if name is None:
        name = os.environ.get(PROFILE_ENV, "").strip() or None
        source = PROFILE_ENV
    if name is None:
        return Profile("large" if torch.cuda.is_available() else "small")
    if not isinstance(name, str):
        raise TypeError(f"name must be one of {PROFILES}, got {type(name).__name__} {name!r}")
    cleaned = name.strip().lower()
    if cleaned not in PROFILES:
        raise ValueError(
            f"unknown profile {source}={name!r}; expected one of {', '.join(PROFILES)}"
        )
    return Profile(cleaned)


def is_quiet() -> bool:
    """True in CI and in book builds (``CI`` or ``COURSE_QUIET`` set): no progress bars."""
    return any(os.environ.get(var, "") not in ("", "0", "false") for var in ("CI", "COURSE_QUIET"))


def describe(device: torch.device, profile: Profile) -> str:
    """One line a setup cell prints: what runs where."""
    if not isinstance(device, torch.device) or not isinstance(profile, Profile):
        raise TypeError(
            f"describe expects (device, profile) from get_device() and get_profile(), got "
            f"{type(device).__name__} and {type(profile).__name__}"
        )
    return f"torch {torch.__version__} | device: {device} | profile: {profile.name}"


@contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` CPU threads for torch and for NumPy/scikit-learn's BLAS.

    Tiny models (a few thousand parameters) train faster on one thread: with more, the
    threads mostly wait for each other, and on a busy machine many times slower. The
    previous settings are restored on exit.
    """
    n = check_positive_int(n, "n")
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)
