"""The Chapter 4 rows of the errata appendix make claims about formulas, not measured
numbers; each correction is checked numerically here against autograd, and the one count
in the fragment (row 4.3) is recomputed."""

from __future__ import annotations

import pytest
import torch

from tests.bookinfo import errata_fragment, errata_row

DT = torch.float64


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch04")


@pytest.fixture(scope="module")
def net():
    """Two tanh layers and a squared error: x (3,) -> h (4,) -> y (2,)."""
    g = torch.Generator().manual_seed(0)
    p = {
        "x": torch.randn(3, generator=g, dtype=DT),
        "t": torch.randn(2, generator=g, dtype=DT),
        "W1": torch.randn(4, 3, generator=g, dtype=DT),
        "b1": torch.randn(4, generator=g, dtype=DT),
        "W2": torch.randn(2, 4, generator=g, dtype=DT),
        "b2": torch.randn(2, generator=g, dtype=DT),
    }
    leaves = {k: v.clone().requires_grad_(k in ("W1", "b1", "W2", "b2")) for k, v in p.items()}
    z1 = leaves["W1"] @ leaves["x"] + leaves["b1"]
    a1 = torch.tanh(z1)
    z2 = leaves["W2"] @ a1 + leaves["b2"]
    a2 = torch.tanh(z2)
    (0.5 * ((a2 - leaves["t"]) ** 2).sum()).backward()
    auto = {k: leaves[k].grad for k in ("W1", "b1", "W2", "b2")}
    fwd = {"z1": z1.detach(), "a1": a1.detach(), "z2": z2.detach(), "a2": a2.detach()}
    return p, fwd, auto


def test_rows_4_1_and_4_5_the_corrected_recursion_equals_autograd(text, net):
    p, f, auto = net
    assert "\\delta^{(l)} = (W^{(l+1)\\top}\\delta^{(l+1)}) \\odot f'(z^{(l)})" in errata_row(
        text, "4.4"
    )
    delta2 = (f["a2"] - p["t"]) * (1 - f["a2"] ** 2)  # dL/dz2
    delta1 = (p["W2"].T @ delta2) * (1 - f["a1"] ** 2)  # the recursion
    torch.testing.assert_close(torch.outer(delta2, f["a1"]), auto["W2"])
    torch.testing.assert_close(delta2, auto["b2"])
    torch.testing.assert_close(torch.outer(delta1, p["x"]), auto["W1"])
    torch.testing.assert_close(delta1, auto["b1"])


def test_row_4_6_the_source_update_is_wrong(text, net):
    """delta_j x_i with delta w.r.t. activations: no f'(z), and x in every layer."""
    p, f, auto = net
    assert "\\delta_j x_i" in errata_row(text, "4.5")
    delta_act = f["a2"] - p["t"]  # dL/da2: the source's error term
    no_slope = torch.outer(delta_act, f["a1"])  # f'(z) missing
    assert (no_slope - auto["W2"]).abs().max() > 0.05
    # x instead of the previous activation in layer 2 does not even have the right shape
    assert torch.outer(delta_act, p["x"]).shape != auto["W2"].shape


def test_row_4_7_counting_the_slope_twice(text, net):
    p, f, auto = net
    assert "counts the slope twice" in errata_row(text, "4.6")
    dz = (f["a2"] - p["t"]) * (1 - f["a2"] ** 2)  # dJ/dz2, already includes f'
    twice = dz * (1 - f["a2"] ** 2)  # the source: dJ/dz * f'(z)
    torch.testing.assert_close(dz, auto["b2"])
    assert (twice - auto["b2"]).abs().max() > 1e-3


def test_row_4_4_unit_count(text):
    inputs, hidden, outputs = 3, 3, 2  # x1..x3, h1..h3, y1, y2 as 001 names them
    assert inputs + hidden + outputs == 8 and "(eight units)" in errata_row(text, "4.3")
