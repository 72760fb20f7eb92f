"""Shared pytest set-up: GPU-marked tests skip cleanly on machines without CUDA."""

import pytest
import torch

from companion.runtime import cpu_threads


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def one_thread():
    """Tiny tensors: one thread avoids thread-pool overhead (use with usefixtures)."""
    with cpu_threads(1):
        yield
