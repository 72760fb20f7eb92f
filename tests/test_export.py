"""companion.export: torch.export and ONNX Runtime agree with eager PyTorch (Chapter 13.1)."""

import pytest
import torch
from torch import nn

from companion.export import (
    DataDependentBranch,
    export_onnx,
    export_program,
    max_abs_difference,
    onnx_predict,
    onnx_session,
    try_export,
)

ONNX_ATOL = 1e-5  # float32, a few hundred multiply-adds per output: rounding only


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()


def _lenet(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10)
    ).eval()


@pytest.fixture(scope="module")
def mlp_onnx(tmp_path_factory):
    model = _mlp()
    path = export_onnx(model, torch.randn(4, 64), tmp_path_factory.mktemp("onnx") / "mlp.onnx")
    return model, onnx_session(path)


@pytest.mark.parametrize("batch", [1, 3, 257])
def test_onnx_runtime_equals_pytorch_for_any_batch_size(mlp_onnx, batch):
    model, session = mlp_onnx
    x = torch.randn(batch, 64, generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        expected = model(x)
    got = onnx_predict(session, x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ONNX_ATOL, rtol=1e-5)
    assert max_abs_difference(got, expected) <= ONNX_ATOL


def test_onnx_equality_would_catch_a_different_model(mlp_onnx):
    """The wrong variant: another model's weights are far outside the tolerance."""
    _, session = mlp_onnx
    x = torch.randn(8, 64)
    with torch.no_grad():
        other = _mlp(seed=1)(x)
    assert max_abs_difference(onnx_predict(session, x), other) > 100 * ONNX_ATOL


def test_onnx_convolutional_model(tmp_path):
    model = _lenet()
    session = onnx_session(export_onnx(model, torch.randn(2, 1, 8, 8), tmp_path / "lenet.onnx"))
    x = torch.randn(5, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(onnx_predict(session, x), model(x), atol=ONNX_ATOL, rtol=1e-5)


def test_fixed_batch_export_refuses_other_batch_sizes(tmp_path):
    model = _mlp()
    session = onnx_session(
        export_onnx(model, torch.randn(4, 64), tmp_path / "fixed.onnx", dynamic_batch=False)
    )
    onnx_predict(session, torch.randn(4, 64))
    with pytest.raises(ValueError, match="x must have size 4"):
        onnx_predict(session, torch.randn(5, 64))


def test_exported_program_equals_eager_and_keeps_dynamic_batch():
    model = _mlp()
    program = export_program(model, torch.randn(4, 64))
    for batch in (1, 2, 33):
        x = torch.randn(batch, 64)
        with torch.no_grad():
            torch.testing.assert_close(program.module()(x), model(x), atol=0, rtol=0)


def test_export_refuses_value_dependent_control_flow():
    ok, message = try_export(DataDependentBranch(4), torch.randn(3, 4))
    assert not ok
    assert "data-dependent" in message.lower() or "guard" in message.lower()
    ok, message = try_export(_mlp(), torch.randn(3, 64))
    assert ok and message == ""


def test_jit_trace_silently_bakes_in_the_branch():
    """Why export's refusal is a feature: the older tracer records only the branch it saw."""
    torch.manual_seed(0)
    model = DataDependentBranch(4).eval()
    x = torch.randn(3, 4)
    with torch.no_grad():
        sign = model.linear(x).sum() > 0
        flipped = x.clone()
        while (model.linear(flipped).sum() > 0) == sign:
            flipped = -flipped * 3 + 1
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, (x,))
        assert not torch.allclose(traced(flipped), model(flipped))
