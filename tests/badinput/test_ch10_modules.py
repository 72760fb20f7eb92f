"""Plausible mistakes with the Chapter 10 modules: pruning, quantization, distillation, lora,
transfer, pretrained. Each is a clear error naming the argument, or (where accepting the input
is right) a test that the answer equals PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from companion.cnn import LeNet
from companion.distillation import distillation_loss, soft_kl, train_classifier
from companion.lora import LoRALinear, apply_lora, lora_parameter_count
from companion.pruning import (
    apply_mask_,
    channel_mask,
    csr_bytes,
    global_magnitude_masks,
    magnitude_mask,
    slim_lenet,
    sparsity,
)
from companion.quantization import (
    Int8Linear,
    affine_qparams,
    dequantize,
    fake_quantize,
    int_range,
    quantize,
    quantize_linears,
    state_dict_bytes,
)
from companion.transfer import compare_transfer, transfer_model
from tests.badinput.harness import expect_clear_error

NAN, INF = float("nan"), float("inf")
W = torch.randn(6, 4)
CONV_W = torch.randn(6, 3, 3, 3)
S, T = torch.randn(5, 3), torch.randn(5, 3)
Y = torch.tensor([0, 2, 1, 1, 0])
ONE, ZERO = torch.tensor(0.1), torch.tensor(0)
LIN = nn.Linear(4, 3)

PRUNING = [
    (lambda: magnitude_mask(W.numpy(), 0.5), "weight", TypeError),
    (lambda: magnitude_mask(W.tolist(), 0.5), "weight", TypeError),
    (lambda: magnitude_mask(torch.arange(6), 0.5), "weight", TypeError),
    (lambda: magnitude_mask(torch.empty(0), 0.5), "weight", ValueError),
    (lambda: magnitude_mask(W, 1.5), "amount", ValueError),
    (lambda: magnitude_mask(W, -0.1), "amount", ValueError),
    (lambda: magnitude_mask(W, NAN), "amount", ValueError),
    (lambda: magnitude_mask(W, 50), "amount", ValueError),  # more entries than exist
    (lambda: magnitude_mask(W, True), "amount", TypeError),
    (lambda: magnitude_mask(W, "half"), "amount", TypeError),
    (lambda: global_magnitude_masks(W, 0.5), "weights", TypeError),
    (lambda: global_magnitude_masks([], 0.5), "weights", ValueError),
    (lambda: global_magnitude_masks([W, W.numpy()], 0.5), "weights[1]", TypeError),
    (lambda: channel_mask(torch.randn(5), 0.5), "weight", ValueError),
    (lambda: channel_mask(CONV_W, 0.5, dim=4), "dim", ValueError),
    (lambda: channel_mask(CONV_W, 0.5, n=0), "n", ValueError),
    (lambda: channel_mask(CONV_W, 0.5, n=INF), "n", ValueError),
    (lambda: apply_mask_(LIN, torch.ones(3, 5)), "mask", ValueError),
    (lambda: apply_mask_(LIN, torch.ones(3, 4, dtype=torch.bool)), "mask", TypeError),
    (lambda: apply_mask_(LIN, torch.ones(3, 4), name="kernel"), "kernel", ValueError),
    (lambda: apply_mask_(W, torch.ones(6, 4)), "module", TypeError),
    (lambda: sparsity(W.numpy()), "tensors", TypeError),
    (lambda: csr_bytes(np.zeros((2, 2))), "weight", TypeError),
    (lambda: slim_lenet(nn.Linear(2, 2), [W, W]), "model", TypeError),
    (lambda: slim_lenet(LeNet(), CONV_W), "masks", TypeError),
    (
        lambda: slim_lenet(LeNet(), [torch.zeros(6, 1, 5, 5), torch.ones(16, 6, 5, 5)]),
        "masks[0]",
        ValueError,
    ),
]

QUANT = [
    (lambda: int_range(1), "bits", ValueError),
    (lambda: int_range(8.0), "bits", TypeError),
    (lambda: int_range(8, signed="yes"), "signed", TypeError),
    (lambda: affine_qparams(1.0, 2.0), "x_min", TypeError),
    (lambda: affine_qparams(torch.tensor(2.0), torch.tensor(1.0)), "x_min", ValueError),
    (lambda: affine_qparams(torch.tensor(NAN), torch.tensor(1.0)), "x_min", ValueError),
    (lambda: affine_qparams(torch.zeros(3), torch.ones(2)), "x_max", ValueError),
    (lambda: affine_qparams(torch.tensor(0), torch.tensor(1)), "x_min", TypeError),
    (lambda: quantize(W.numpy(), ONE, ZERO), "x", TypeError),
    (lambda: quantize(torch.arange(4), ONE, ZERO), "x", TypeError),
    (lambda: quantize(torch.tensor([1.0, INF]), ONE, ZERO), "x", ValueError),
    (lambda: quantize(W, 0.1, 0), "scale", TypeError),
    (lambda: quantize(W, torch.tensor(0.0), ZERO), "scale", ValueError),
    (lambda: quantize(W, torch.tensor(-0.1), ZERO), "scale", ValueError),
    (lambda: quantize(W, ONE, torch.tensor(0.0)), "zero_point", TypeError),
    (lambda: quantize(W, ONE, torch.tensor(300)), "zero_point", ValueError),
    (
        lambda: quantize(W, torch.ones(6) * 0.1, torch.zeros(6, dtype=torch.long)),
        "scale",
        ValueError,
    ),  # per-channel values without axis
    (
        lambda: quantize(W, torch.ones(4) * 0.1, torch.zeros(4, dtype=torch.long), axis=0),
        "scale",
        ValueError,
    ),  # one per column given for axis 0
    (lambda: quantize(W, ONE, ZERO, axis=2), "axis", ValueError),
    (lambda: quantize(W, ONE, ZERO, bits=0), "bits", ValueError),
    (lambda: dequantize(W, ONE, ZERO), "q", TypeError),
    (lambda: dequantize(torch.zeros(3, dtype=torch.long), 0.1, ZERO), "scale", TypeError),
    (lambda: fake_quantize(W, bits=1), "bits", ValueError),
    (lambda: fake_quantize(W.double().numpy()), "x", TypeError),
    (lambda: Int8Linear(nn.Conv2d(1, 1, 1)), "linear", TypeError),
    (lambda: Int8Linear(LIN)(torch.randn(2, 4, dtype=torch.float64)), "x", TypeError),
    (lambda: quantize_linears(nn.ReLU()), "model", ValueError),
    (lambda: quantize_linears(LIN.state_dict()), "model", TypeError),
    (lambda: state_dict_bytes(LIN.state_dict()), "model", TypeError),
]

DISTIL = [
    (lambda: distillation_loss(S.numpy(), T, Y), "student_logits", TypeError),
    (lambda: distillation_loss(S, T.double(), Y), "teacher_logits", TypeError),
    (lambda: distillation_loss(S, T[:4], Y), "teacher_logits", ValueError),
    (lambda: distillation_loss(S, torch.randn(5, 4), Y), "teacher_logits", ValueError),
    (lambda: distillation_loss(S[0], T[0], Y[:1]), "student_logits", ValueError),
    (lambda: distillation_loss(S, T, Y.float()), "labels", TypeError),
    (lambda: distillation_loss(S, T, Y + 3), "labels", ValueError),
    (lambda: distillation_loss(S, T, Y[:3]), "labels", ValueError),
    (lambda: distillation_loss(S, T, Y, T=0.0), "T", ValueError),
    (lambda: distillation_loss(S, T, Y, T=-2.0), "T", ValueError),
    (lambda: distillation_loss(S, T, Y, T=NAN), "T", ValueError),
    (lambda: distillation_loss(S, T, Y, alpha=1.5), "alpha", ValueError),
    (lambda: distillation_loss(S, T, Y, alpha=True), "alpha", TypeError),
    (lambda: soft_kl(S, T, T="4"), "T", TypeError),
    (lambda: train_classifier(nn.Linear(3, 2), S.double(), Y % 2, epochs=1), "X", TypeError),
    (lambda: train_classifier(nn.Linear(3, 2), S, Y.float(), epochs=1), "y", TypeError),
    (lambda: train_classifier(nn.Linear(3, 2), S, Y[:2], epochs=1), "y", ValueError),
    (lambda: train_classifier(nn.Linear(3, 2), S, Y % 2, epochs=0), "epochs", ValueError),
    (lambda: train_classifier(nn.Linear(3, 2), S, Y % 2, epochs=1, lr=0), "lr", ValueError),
    (
        lambda: train_classifier(nn.Linear(3, 2), S, Y % 2, epochs=1, teacher="big"),
        "teacher",
        TypeError,
    ),
]

LORA = [
    (lambda: LoRALinear(nn.Conv2d(1, 1, 1)), "base", TypeError),
    (lambda: LoRALinear(nn.Linear(4, 3), r=0), "r", ValueError),
    (lambda: LoRALinear(nn.Linear(4, 3), r=2.0), "r", TypeError),
    (lambda: LoRALinear(nn.Linear(4, 3), r=True), "r", TypeError),
    (lambda: LoRALinear(nn.Linear(4, 3), alpha=0), "alpha", ValueError),
    (lambda: LoRALinear(nn.Linear(4, 3), alpha=NAN), "alpha", ValueError),
    (lambda: LoRALinear(nn.Linear(4, 3))(torch.randn(2, 5)), "x", ValueError),
    (lambda: LoRALinear(nn.Linear(4, 3))(torch.randn(2, 4).double()), "x", TypeError),
    (lambda: LoRALinear(nn.Linear(4, 3))(torch.ones(2, 4, dtype=torch.long)), "x", TypeError),
    (lambda: LoRALinear(nn.Linear(4, 3))(np.ones((2, 4), dtype=np.float32)), "x", TypeError),
    (lambda: apply_lora(nn.Sequential(nn.Linear(2, 2)), "0"), "target_names", TypeError),
    (lambda: apply_lora(nn.Sequential(nn.Linear(2, 2)), ["q_lin"]), "target_names", ValueError),
    (lambda: apply_lora(nn.Linear(2, 2).state_dict(), ["0"]), "model", TypeError),
    (lambda: lora_parameter_count(10, 10, 0), "r", ValueError),
    (lambda: lora_parameter_count(10.0, 10, 2), "in_features", TypeError),
]

TRANSFER = [
    (lambda: transfer_model(nn.Linear(2, 2), 3, "full"), "pretrained", TypeError),
    (lambda: transfer_model(LeNet(), 3, "finetune"), "mode", ValueError),
    (lambda: transfer_model(LeNet(), 0, "full"), "num_classes", ValueError),
    (
        lambda: compare_transfer(
            LeNet(), (torch.randn(4, 1, 28, 28).double(), Y[:4]), (torch.randn(4, 1, 28, 28), Y[:4])
        ),
        "train[0]",
        TypeError,
    ),
    (
        lambda: compare_transfer(
            LeNet(), (torch.randn(4, 1, 28, 28), Y[:3]), (torch.randn(4, 1, 28, 28), Y[:4])
        ),
        "train[1]",
        ValueError,
    ),
    (
        lambda: compare_transfer(
            LeNet(), (torch.randn(4, 1, 28, 28), Y[:4].float()), (torch.randn(4, 1, 28, 28), Y[:4])
        ),
        "train[1]",
        TypeError,
    ),
]


@pytest.mark.parametrize(("call", "name", "kind"), PRUNING + QUANT + DISTIL + LORA + TRANSFER)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_pretrained_bad_inputs():
    pytest.importorskip("transformers")
    from companion.pretrained import EncoderClassifier, load_encoder, tiny_distilbert

    model = EncoderClassifier(tiny_distilbert(), 2)
    ids = torch.randint(0, 100, (2, 5))
    expect_clear_error(lambda: model(ids.float()), "ids", kind=TypeError)
    expect_clear_error(lambda: model(ids + 100), "ids", kind=ValueError)
    expect_clear_error(lambda: model(ids[0]), "ids", kind=ValueError)
    expect_clear_error(lambda: model(ids, torch.ones(2, 5)), "mask", kind=TypeError)
    expect_clear_error(lambda: model(ids, torch.ones(2, 4, dtype=torch.long)), "mask",
                       kind=ValueError)  # fmt: skip
    expect_clear_error(lambda: EncoderClassifier(nn.Linear(2, 2), 2), "encoder", kind=TypeError)
    expect_clear_error(lambda: load_encoder(""), "name", kind=TypeError)
    expect_clear_error(lambda: load_encoder(allow_download="yes"), "allow_download",
                       kind=TypeError)  # fmt: skip
    expect_clear_error(lambda: tiny_distilbert(dim=30), "dim", kind=ValueError)


# --- inputs that are right to accept, checked against PyTorch -------------------------------


def test_int_amount_is_a_count_like_torch():
    layer = nn.Linear(4, 6)
    mask = magnitude_mask(layer.weight, 5)
    prune.l1_unstructured(layer, "weight", 5)
    assert torch.equal(mask, layer.weight_mask) and int((mask == 0).sum()) == 5


def test_numpy_and_tensor_amounts_accepted():
    assert torch.equal(magnitude_mask(W, np.float64(0.5)), magnitude_mask(W, 0.5))
    assert torch.equal(magnitude_mask(W, torch.tensor(0.5)), magnitude_mask(W, 0.5))


def test_float64_quantize_equals_torch():
    x = torch.randn(100, dtype=torch.float64)
    s, z = affine_qparams(x.min(), x.max())
    q = torch.quantize_per_tensor(x.float(), float(s), int(z), torch.qint8)
    assert torch.equal(quantize(x, s, z), q.int_repr().long())


def test_bool_mask_accepted_by_ids_model():
    pytest.importorskip("transformers")
    from companion.pretrained import EncoderClassifier, tiny_distilbert

    model = EncoderClassifier(tiny_distilbert(), 2)
    ids = torch.randint(0, 100, (2, 5))
    torch.testing.assert_close(model(ids, torch.ones(2, 5, dtype=torch.bool)),
                               model(ids, torch.ones(2, 5, dtype=torch.long)))  # fmt: skip


def test_distillation_alpha_zero_is_cross_entropy():
    torch.testing.assert_close(distillation_loss(S, T, Y, alpha=0), F.cross_entropy(S, Y))
