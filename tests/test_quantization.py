"""The from-scratch affine quantiser equals PyTorch's quantised tensors and observers."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from companion.quantization import (
    Int8Linear,
    affine_qparams,
    dequantize,
    fake_quantize,
    int_range,
    quantize,
    quantize_linears,
    state_dict_bytes,
    torch_dynamic_int8,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

CASES = [  # torch dtype, signed, qscheme, symmetric
    (torch.qint8, True, torch.per_tensor_affine, False),
    (torch.quint8, False, torch.per_tensor_affine, False),
    (torch.qint8, True, torch.per_tensor_symmetric, True),
    (torch.quint8, False, torch.per_tensor_symmetric, True),
]


@pytest.mark.parametrize(("dtype", "signed", "qscheme", "symmetric"), CASES)
@pytest.mark.parametrize("shift", [1.0, -3.0, 5.0])
def test_qparams_equal_minmax_observer(dtype, signed, qscheme, symmetric, shift):
    torch.manual_seed(0)
    x = torch.randn(500) * 2 + shift  # includes ranges that do not contain 0
    obs = MinMaxObserver(dtype=dtype, qscheme=qscheme)
    obs(x)
    ref_s, ref_z = obs.calculate_qparams()
    s, z = affine_qparams(x.min(), x.max(), signed=signed, symmetric=symmetric)
    torch.testing.assert_close(s.reshape(1), ref_s)
    assert int(z) == int(ref_z)
    # quantised values and their dequantisation equal torch.quantize_per_tensor
    q = torch.quantize_per_tensor(x, float(s), int(z), dtype)
    assert torch.equal(quantize(x, s, z, signed=signed), q.int_repr().long())
    torch.testing.assert_close(dequantize(quantize(x, s, z, signed=signed), s, z), q.dequantize())


def test_wrong_variants_differ():
    torch.manual_seed(0)
    x = torch.randn(2000) * 3
    s, z = affine_qparams(x.min(), x.max())
    ref = torch.quantize_per_tensor(x, float(s), int(z), torch.qint8).int_repr().long()
    floor = (torch.floor(x / s) + z).clamp(-128, 127).long()  # floor instead of round
    no_clamp = torch.round(x * 1.5 / s) + z  # outside the range without the clamp
    half_up = (torch.floor(x / s + 0.5) + z).clamp(-128, 127).long()  # round half up
    assert not torch.equal(floor, ref)
    assert (no_clamp > 127).any() and quantize(x * 1.5, s, z).max() == 127
    halves = torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5])  # exact ties: half-to-even matters
    one, zero = torch.tensor(1.0), torch.tensor(0)
    want = torch.quantize_per_tensor(halves, 1.0, 0, torch.qint8).int_repr().long()
    assert torch.equal(quantize(halves, one, zero), want)
    assert not torch.equal((torch.floor(halves + 0.5)).long(), want)
    assert half_up.shape == ref.shape


@pytest.mark.parametrize("axis", [0, 1])
def test_per_channel_equals_torch(axis):
    torch.manual_seed(1)
    w = torch.randn(8, 6) * torch.linspace(0.1, 3, 6)
    obs = PerChannelMinMaxObserver(ch_axis=axis, dtype=torch.qint8,
                                   qscheme=torch.per_channel_affine)  # fmt: skip
    obs(w)
    ref_s, ref_z = obs.calculate_qparams()
    other = 1 - axis
    s, z = affine_qparams(w.amin(dim=other), w.amax(dim=other))
    torch.testing.assert_close(s, ref_s)
    assert torch.equal(z, ref_z.long())
    q = torch.quantize_per_channel(w, ref_s.double(), ref_z.long(), axis, torch.qint8)
    mine = quantize(w, s, z, axis=axis)
    assert torch.equal(mine, q.int_repr().long())
    torch.testing.assert_close(dequantize(mine, s, z, axis=axis), q.dequantize())
    # one scale for the whole tensor is a coarser (wrong) per-channel answer
    s1, z1 = affine_qparams(w.min(), w.max())
    assert not torch.equal(quantize(w, s1, z1), q.int_repr().long())


def test_int_ranges_and_fake_quant_error_shrinks_with_bits():
    assert int_range(8) == (-128, 127)
    assert int_range(8, signed=False) == (0, 255)
    assert int_range(4) == (-8, 7)
    torch.manual_seed(0)
    x = torch.randn(4096)
    errs = [(fake_quantize(x, bits=b) - x).abs().max().item() for b in (4, 8)]
    s8, _ = affine_qparams(x.min(), x.max())
    assert errs[1] <= s8.item() / 2 + 1e-6  # rounding error is at most half a step
    assert errs[0] > 8 * errs[1]  # 16 times fewer levels: about 17 times the error


def test_int8_linear_close_to_float_and_to_per_channel_torch():
    torch.manual_seed(0)
    lin = nn.Linear(32, 16)
    q = Int8Linear(lin)
    assert q.q_weight.dtype == torch.int8
    # the stored integers are torch's symmetric per-channel quantisation of the weight
    amax = lin.weight.detach().abs().amax(1)
    torch.testing.assert_close(q.scale, amax / 127)  # absmax: max |w| maps to 127
    ref = torch.quantize_per_channel(lin.weight.detach(), q.scale.double(),
                                     torch.zeros(16, dtype=torch.long), 0, torch.qint8)  # fmt: skip
    assert torch.equal(q.q_weight, ref.int_repr())
    x = torch.randn(5, 32)
    assert (q(x) - lin(x)).abs().max() < 0.02
    model = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))
    qm = quantize_linears(model)
    assert isinstance(qm[0], Int8Linear) and isinstance(model[0], nn.Linear)  # a copy
    assert state_dict_bytes(qm) < state_dict_bytes(model)


def test_torch_dynamic_int8_close_to_float():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    qm = torch_dynamic_int8(model)
    x = torch.randn(20, 64)
    with torch.no_grad():
        assert (qm(x) - model(x)).abs().max() < 0.05
    assert state_dict_bytes(qm) < state_dict_bytes(model) / 2


def test_many_matrices_per_channel_exact_per_tensor_up_to_ties():
    """Per channel: identical to torch.quantize_per_channel. Per tensor: torch fuses the
    multiply-add, so an entry exactly on a rounding tie may land one level apart."""
    gen = torch.Generator().manual_seed(5)
    for _ in range(30):
        w = torch.randn(64, 200, generator=gen) * 0.05
        s_c, z_c = affine_qparams(w.amin(1), w.amax(1))
        ref_c = torch.quantize_per_channel(w, s_c.double(), z_c, 0, torch.qint8)
        assert torch.equal(quantize(w, s_c, z_c, axis=0), ref_c.int_repr().long())
        s_t, z_t = affine_qparams(w.min(), w.max())
        ref_t = torch.quantize_per_tensor(w, float(s_t), int(z_t), torch.qint8)
        diff = quantize(w, s_t, z_t) - ref_t.int_repr().long()
        t = w.double() / float(s_t)
        at_tie = ((t - t.floor()) - 0.5).abs() < 1e-4
        assert diff.abs().max() <= 1 and bool(at_tie[diff != 0].all())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_quantize_on_cuda_matches_cpu():
    """Integers may differ only on exact rounding ties (at most one level)."""
    w = torch.randn(64, 200, generator=torch.Generator().manual_seed(0))
    s, z = affine_qparams(w.amin(1), w.amax(1))
    cpu = quantize(w, s, z, axis=0)
    gpu = quantize(w.cuda(), s.cuda(), z.cuda(), axis=0).cpu()
    assert (cpu - gpu).abs().max() <= 1 and (cpu != gpu).float().mean() < 1e-3
