"""BERT encoder (companion.bert): parameter counts and the explicit vs fused encoder layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.bert import (
    BERT_BASE,
    BERT_LARGE,
    Bert,
    BertConfig,
    bert_parameter_formula,
    explicit_encoder_layer,
)
from companion.history import count_on_meta

TINY = BertConfig(
    vocab_size=50, max_position=16, n_layer=2, n_head=2, hidden=8, intermediate=16, dropout=0.0
)


@pytest.mark.parametrize(
    ("cfg", "exact", "published"),
    [(BERT_BASE, 109_482_240, 110e6), (BERT_LARGE, 335_141_888, 340e6)],
)
def test_counts_match_formula_and_paper(cfg, exact, published):
    assert count_on_meta(lambda: Bert(cfg)) == bert_parameter_formula(cfg) == exact
    assert abs(exact / published - 1) < 0.015  # Devlin et al. (2019) round to 110M / 340M


def test_pooler_is_c_squared_plus_c():
    no_pool = BertConfig(pooler=False)
    assert count_on_meta(lambda: Bert(no_pool)) == 109_482_240 - (768 * 768 + 768)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_explicit_layer_matches_fused(dtype):
    torch.manual_seed(0)
    model = Bert(TINY).to(dtype).eval()
    x = torch.randn(3, 5, 8, dtype=dtype)
    for layer in model.layers:
        torch.testing.assert_close(explicit_encoder_layer(layer, x), layer(x))


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_explicit_layer_follows_the_layers_activation_and_norm_order(activation, norm_first):
    """The first edition always applied GELU and post-norm: a default (ReLU) layer or a
    norm_first layer gave other outputs without an error."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    )
    layer = layer.double().eval()
    for p in layer.parameters():
        nn.init.normal_(p, std=0.5)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    torch.testing.assert_close(explicit_encoder_layer(layer, x), layer(x))
    # the wrong variant (the other norm order, as the first edition hard-wired) must differ
    layer.norm_first = not norm_first
    other = explicit_encoder_layer(layer, x)
    layer.norm_first = norm_first
    assert not torch.allclose(other, layer(x), atol=1e-3)


def test_explicit_layer_refuses_an_activation_it_does_not_write_out():
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=torch.tanh, batch_first=True)
    with pytest.raises(ValueError, match="activation"):
        explicit_encoder_layer(layer, torch.randn(1, 3, 8))


def test_explicit_layer_gradcheck():
    torch.manual_seed(0)
    layer = Bert(TINY).double().eval().layers[0]
    x = torch.randn(1, 2, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: explicit_encoder_layer(layer, t), (x,), fast_mode=True
    )


def test_forward_shapes_and_pooler_value():
    torch.manual_seed(0)
    model = Bert(TINY).eval()
    idx = torch.randint(0, 50, (2, 7))
    h, pooled = model(idx, token_type=torch.ones_like(idx))
    assert h.shape == (2, 7, 8) and pooled.shape == (2, 8)
    torch.testing.assert_close(pooled, torch.tanh(model.pooler(h[:, 0])))
    h0, _ = model(idx)  # segment embeddings matter
    assert not torch.allclose(h, h0)


def test_bad_inputs():
    model = Bert(TINY)
    with pytest.raises(TypeError, match="int64"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="max_position"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"idx must lie in \[0, 49\]"):
        model(torch.tensor([[3, 50]]))
    with pytest.raises(ValueError, match=r"token_type must lie in \[0, 1\]"):
        model(torch.tensor([[3, 4]]), token_type=torch.tensor([[0, 2]]))
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(hidden=10, n_head=3)
