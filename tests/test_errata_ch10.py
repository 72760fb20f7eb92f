"""Numbers stated in the Chapter 10 errata rows, recomputed with companion code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.pruning import csr_bytes, magnitude_mask
from companion.quantization import state_dict_bytes
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch10")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch10)=\n## Chapter 10: Compression and transfer\n")


def test_row_10_1_csr_size_and_dense_file(text):
    w = torch.randn(1000, 1000, generator=torch.Generator().manual_seed(0))
    sparse = w * magnitude_mask(w, 0.9)
    fraction = csr_bytes(sparse) / (4 * w.numel())
    assert f"{100 * fraction:.1f}%" == "30.2%"
    row = errata_row(text, "10.1")
    assert "30.2%" in row and "12 bytes" in row
    with torch.no_grad():
        layer = nn.Linear(1000, 1000)
        dense = state_dict_bytes(layer)
        layer.weight.mul_(magnitude_mask(layer.weight, 0.9))
        assert state_dict_bytes(layer) == dense  # "exactly as large"


def test_row_10_3_memory_of_a_7b_model(text):
    row = errata_row(text, "10.3")
    n = 7e9
    for bits, stated in ((32, "28 GB"), (16, "14 GB"), (8, "7 GB"), (4 + 16 / 128, "3.61 GB")):
        gb = n * bits / 8 / 1e9
        digits = 2 if "." in stated else 0
        assert f"{gb:.{digits}f} GB" == stated
        assert stated in row
