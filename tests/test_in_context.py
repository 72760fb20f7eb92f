"""companion.in_context (Chapter 14b): the prompt layout, causality, and the baselines
checked against NumPy's least squares and a brute-force nearest neighbour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.in_context import (
    InContextRegressor,
    error_by_context_size,
    interleave,
    least_squares_predictions,
    mean_predictions,
    nearest_neighbour_predictions,
    sample_tasks,
    train_in_context,
)


def test_tasks_are_linear():
    xs, ys = sample_tasks(5, 7, 3, torch.Generator().manual_seed(0))
    assert xs.shape == (5, 7, 3) and ys.shape == (5, 7)
    for b in range(5):  # each task is exactly linear: least squares recovers it
        w, *_ = np.linalg.lstsq(xs[b].numpy(), ys[b].numpy(), rcond=None)
        np.testing.assert_allclose(xs[b].numpy() @ w, ys[b].numpy(), atol=1e-4)


def test_interleave_layout():
    xs = torch.arange(12.0).reshape(1, 3, 4)
    ys = torch.tensor([[100.0, 200.0, 300.0]])
    tok = interleave(xs, ys)
    assert tok.shape == (1, 6, 5)
    torch.testing.assert_close(tok[0, 0], torch.tensor([0.0, 0, 1, 2, 3]))
    torch.testing.assert_close(tok[0, 1], torch.tensor([100.0, 0, 0, 0, 0]))
    torch.testing.assert_close(tok[0, 4], torch.tensor([0.0, 8, 9, 10, 11]))
    torch.testing.assert_close(tok[0, 5], torch.tensor([300.0, 0, 0, 0, 0]))


def test_prediction_at_k_never_sees_y_k_or_later():
    torch.manual_seed(0)
    model = InContextRegressor(2, 6, n_layer=2, n_head=2, n_embd=16).eval()
    xs, ys = sample_tasks(3, 6, 2, torch.Generator().manual_seed(1))
    base = model(xs, ys)
    for k in range(6):
        ys2 = ys.clone()
        ys2[:, k:] += 5.0  # change y_k and everything after it
        out = model(xs, ys2)
        torch.testing.assert_close(out[:, : k + 1], base[:, : k + 1])  # up to and incl. k
        if k < 5:
            assert not torch.allclose(out[:, k + 1 :], base[:, k + 1 :])  # later ones see it


def test_least_squares_matches_numpy_min_norm():
    xs, ys = sample_tasks(4, 8, 3, torch.Generator().manual_seed(2))
    xs, ys = xs.double(), ys.double()
    ours = least_squares_predictions(xs, ys)
    for b in range(4):
        assert ours[b, 0] == 0
        for k in range(1, 8):
            w, *_ = np.linalg.lstsq(xs[b, :k].numpy(), ys[b, :k].numpy(), rcond=None)  # min norm
            np.testing.assert_allclose(ours[b, k].item(), xs[b, k].numpy() @ w, atol=1e-9)
    # noise-free and k > d: exact
    torch.testing.assert_close(ours[:, 4:], ys[:, 4:], atol=1e-6, rtol=0)
    # a wrong variant (fitting on pairs up to and including k) would be exact everywhere
    assert (ours[:, 1:3] - ys[:, 1:3]).abs().max() > 1e-3


def test_baselines_against_brute_force():
    xs, ys = sample_tasks(3, 6, 2, torch.Generator().manual_seed(3))
    nn_pred, mean_pred = nearest_neighbour_predictions(xs, ys), mean_predictions(xs, ys)
    for b in range(3):
        for k in range(1, 6):
            d = [float(((xs[b, k] - xs[b, j]) ** 2).sum()) for j in range(k)]
            assert nn_pred[b, k] == ys[b, int(np.argmin(d))]
            assert abs(mean_pred[b, k] - ys[b, :k].mean()) < 1e-6
        assert nn_pred[b, 0] == 0 and mean_pred[b, 0] == 0


def test_error_by_context_size():
    p = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = torch.tensor([[0.0, 2.0], [1.0, 2.0]])
    torch.testing.assert_close(error_by_context_size(p, y), torch.tensor([2.5, 2.0]))


@pytest.mark.slow
def test_short_training_learns_from_context():
    """A short run already uses the context: from the third point on, its error is below
    the mean-of-y baseline, which ignores x (the notebook runs longer)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = InContextRegressor(1, 6, n_layer=2, n_head=4, n_embd=32)
    losses = train_in_context(model, steps=180, batch=64, lr=3e-3, seed=0)
    assert np.mean(losses[-20:]) < 0.6 * np.mean(losses[:20])
    xs, ys = sample_tasks(500, 6, 1, torch.Generator().manual_seed(9))
    with torch.no_grad():
        tf = error_by_context_size(model(xs, ys), ys)[2:].mean()
    mean = error_by_context_size(mean_predictions(xs, ys), ys)[2:].mean()
    assert tf < 0.5 * mean, (tf, mean)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    """The model and the baselines give the CPU's answers on CUDA, within float32 rounding
    (TF32 matmuls are disabled so the tolerance can stay at 1e-4)."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    model = InContextRegressor(2, 6, n_layer=2, n_head=2, n_embd=16).eval()
    xs, ys = sample_tasks(8, 6, 2, torch.Generator().manual_seed(4))
    with torch.no_grad():
        cpu = model(xs, ys)
        gpu = model.cuda()(xs.cuda(), ys.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-4, atol=1e-4)
    for fn in (least_squares_predictions, mean_predictions, nearest_neighbour_predictions):
        torch.testing.assert_close(fn(xs.cuda(), ys.cuda()).cpu(), fn(xs, ys), rtol=1e-4, atol=1e-4)
