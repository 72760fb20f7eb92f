"""Hand-written backpropagation equals autograd; gradient checks work (Chapter 4)."""

import pytest
import torch
import torch.nn.functional as F

from companion.backprop import (
    ManualLayer,
    ManualMLP,
    finite_difference_grad,
    layer_gradient_norms,
    relative_error,
    softmax_cross_entropy,
)


def _batch(n=16, d=5, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    return X, y


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("init", ["default", "xavier", "he"])
def test_manual_gradients_equal_autograd(activation, init):
    X, y = _batch()
    mlp = ManualMLP([5, 7, 6, 3], activation, init, torch.Generator().manual_seed(1))
    loss, grads = mlp.loss_and_grads(X, y)
    twin = mlp.to_sequential()
    ref = F.cross_entropy(twin(X), y)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach())
    for (dW, db), lin in zip(grads, [m for m in twin if hasattr(m, "weight")], strict=True):
        torch.testing.assert_close(dW, lin.weight.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(db, lin.bias.grad, rtol=1e-10, atol=1e-12)


def test_softmax_cross_entropy_and_its_delta():
    X, y = _batch(c=4)
    logits = (X[:, :4] * 3).requires_grad_()
    loss, delta = softmax_cross_entropy(logits.detach(), y)
    ref = F.cross_entropy(logits, y)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach())
    torch.testing.assert_close(delta, logits.grad)
    big = torch.tensor([[1000.0, -1000.0]], dtype=torch.float64)  # no overflow
    assert torch.isfinite(softmax_cross_entropy(big, torch.tensor([1]))[0])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_manual_layer_passes_gradcheck(activation):
    g = torch.Generator().manual_seed(2)
    args = [
        torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(2, 3, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True),
    ]
    assert torch.autograd.gradcheck(lambda a, w, b: ManualLayer.apply(a, w, b, activation), args)


def test_a_wrong_backward_fails_the_checks():
    mlp = ManualMLP([3, 4, 2], "tanh", generator=torch.Generator().manual_seed(0))
    X, y = _batch(d=3, c=2)
    mlp.f_prime = torch.tanh  # a classic slip: f(z) instead of f'(z)
    W1 = mlp.params[0][0]

    def loss_of(W):
        mlp.params[0] = (W, mlp.params[0][1])
        return mlp.loss_and_grads(X, y)[0]

    numeric = finite_difference_grad(loss_of, W1)
    mlp.params[0] = (W1, mlp.params[0][1])
    wrong = mlp.loss_and_grads(X, y)[1][0][0]
    assert relative_error(wrong, numeric) > 0.1


def test_finite_differences_agree_with_autograd():
    x = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))

    def f(t):
        return (t.sin() * t.exp()).sum() + (t**3).mean()

    t = x.clone().requires_grad_()
    f(t).backward()
    assert relative_error(finite_difference_grad(f, x), t.grad) < 1e-8


def test_round_trip_and_gradient_norms():
    X, y = _batch()
    mlp = ManualMLP([5, 8, 8, 3], "sigmoid", generator=torch.Generator().manual_seed(4))
    twin = mlp.to_sequential()
    back = ManualMLP.from_sequential(twin, "sigmoid")
    torch.testing.assert_close(back.forward(X)[0], mlp.forward(X)[0])
    F.cross_entropy(twin(X), y).backward()
    ref = [m.weight.grad.norm().item() for m in twin if hasattr(m, "weight")]
    assert layer_gradient_norms(mlp, X, y) == pytest.approx(ref, rel=1e-10)


def test_clear_errors():
    mlp = ManualMLP([4, 3, 2])
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        mlp.forward(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="flatten"):
        mlp.forward(torch.zeros(5, 2, 2))
    with pytest.raises(TypeError, match="tensor"):
        mlp.forward([[0.0] * 4])
    _, cache = mlp.forward(torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"delta_out must have shape \(5, 2\)"):
        mlp.backward(cache, torch.zeros(5, 3))
    with pytest.raises(ValueError, match="unknown activation"):
        ManualMLP([4, 2], "swish")
    with pytest.raises(ValueError, match="unknown init"):
        ManualMLP([4, 2], init="zeros")
    with pytest.raises(ValueError, match="sizes"):
        ManualMLP([4])
    with pytest.raises(ValueError, match=r"labels must be int64 in \[0, 2\)"):
        mlp.loss_and_grads(torch.zeros(2, 4), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="do not fit"):
        ManualLayer.apply(torch.zeros(2, 3), torch.zeros(4, 2), torch.zeros(4), "tanh")
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="scalar"):
        finite_difference_grad(lambda t: t * 2, torch.zeros(2))
