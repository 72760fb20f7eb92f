"""Every number stated in the Chapter 5 errata fragment, recomputed (issue 9: no typed numbers)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from companion.cnn import conv_output_size

FRAGMENT = (Path(__file__).parents[1] / "book/appendix/errata_parts/ch05.md").read_text()


def row(key: str) -> str:
    """The text of errata row ``key`` (e.g. "5.6")."""
    lines = [line for line in FRAGMENT.splitlines() if line.startswith(f"| {key} |")]
    assert len(lines) == 1, key
    return lines[0]


def test_row_5_6_the_print_condition_never_fires():
    train_images, batch_size, every = 50_000, 100, 2_000
    batches = train_images // batch_size
    assert batches == 500
    assert not any(i % every == every - 1 for i in range(batches))  # never prints
    # the suggested fix prints five times an epoch, each the mean of 100 losses
    assert sum(i % 100 == 99 for i in range(batches)) == 5
    text = row("5.6")
    for number in (f"{every:,}", f"{train_images:,}", f"{batch_size}", f"{batches}"):
        assert number in text, number


def test_row_5_8_the_weight_of_a_conv_layer_is_four_dimensional():
    layer = nn.Conv2d(3, 8, (5, 4))
    assert layer.weight.shape == (8, 3, 5, 4) and layer.bias.shape == (8,)
    assert "$(C_\\text{out}, C_\\text{in}, k_h, k_w)$" in row("5.8")


def test_row_5_10_the_seed_network_pools_twice():
    size = 28
    for _ in range(2):  # conv 3x3, padding 1 (same size), then the shared 2x2 max-pool
        size = conv_output_size(conv_output_size(size, 3, 1, 1), 2, 0, 2)
    assert size == 7
    fc1_inputs = 64 * size * size
    assert fc1_inputs == 3_136
    net_features = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    )  # fmt: skip
    assert net_features(torch.zeros(1, 1, 28, 28)).flatten(1).shape[1] == fc1_inputs
    text = row("5.10")
    assert f"{fc1_inputs:,}" in text and "28 → 14 → 7" in text
