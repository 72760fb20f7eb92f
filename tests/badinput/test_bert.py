"""Bad input to companion.bert: clear errors only."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.bert import Bert, BertConfig, explicit_encoder_layer
from tests.badinput.harness import expect_clear_error

CFG = BertConfig(vocab_size=20, max_position=8, n_layer=1, n_head=2, hidden=8, intermediate=16)
MODEL = Bert(CFG).eval()
IDS = torch.randint(0, 20, (2, 5))
LAYER = MODEL.layers[0]

CASES = [
    (lambda: BertConfig(hidden=10, n_head=3), "hidden", ValueError),
    (lambda: BertConfig(n_layer=0), "n_layer", ValueError),
    (lambda: BertConfig(n_layer=2.0), "n_layer", TypeError),
    (lambda: BertConfig(dropout=-0.5), "dropout", ValueError),
    (lambda: BertConfig(layer_norm_eps=0.0), "layer_norm_eps", ValueError),
    (lambda: Bert("base"), "cfg", TypeError),
    (lambda: MODEL(IDS[0]), "idx", ValueError),
    (lambda: MODEL(IDS.float()), "idx", TypeError),
    (lambda: MODEL(IDS.numpy()), "idx", TypeError),
    (lambda: MODEL(IDS + 20), "idx", ValueError),
    (lambda: MODEL(-IDS - 1), "idx", ValueError),
    (lambda: MODEL(torch.zeros(1, 9, dtype=torch.long)), "max_position", ValueError),
    (lambda: MODEL(IDS, token_type=torch.full((2, 5), 2)), "token_type", ValueError),
    (lambda: MODEL(IDS, token_type=torch.zeros(2, 4, dtype=torch.long)), "token_type", ValueError),
    (lambda: MODEL(IDS, token_type=torch.zeros(2, 5)), "token_type", TypeError),
    (lambda: explicit_encoder_layer(nn.Linear(8, 8), torch.randn(1, 3, 8)), "layer", TypeError),
    (lambda: explicit_encoder_layer(LAYER, torch.randn(1, 3, 7)), "x", ValueError),
    (lambda: explicit_encoder_layer(LAYER, torch.randn(1, 3, 8).double()), "x", TypeError),
    (lambda: explicit_encoder_layer(LAYER, torch.randn(3, 8)), "x", ValueError),
    (lambda: explicit_encoder_layer(
        nn.TransformerEncoderLayer(8, 2, 16, activation=torch.sigmoid, batch_first=True),
        torch.randn(1, 3, 8)), "activation", ValueError),
    (lambda: explicit_encoder_layer(nn.TransformerEncoderLayer(8, 2, 16), torch.randn(1, 3, 8)),
     "batch_first", ValueError),
]  # fmt: skip


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_relu_and_norm_first_layers_are_followed_not_refused():
    """A default (ReLU) pre-norm layer is written out correctly: compare with torch's own."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True)
    x = torch.randn(2, 3, 8)
    torch.testing.assert_close(explicit_encoder_layer(layer.eval(), x), layer(x))
