"""Hand-written backpropagation equals autograd; gradient checks and initialisations are
right (Chapter 4: companion.manual_mlp, manual_layer, gradcheck, initialization)."""

import math

import pytest
import torch
import torch.nn.functional as F

from companion.gradcheck import finite_difference_grad, relative_error
from companion.initialization import init_layer, init_std
from companion.linear import softmax_cross_entropy
from companion.manual_layer import ManualLayer
from companion.manual_mlp import ManualMLP, layer_gradient_norms

pytestmark = pytest.mark.usefixtures("one_thread")


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


def test_softmax_cross_entropy_and_its_gradient():
    X, y = _batch(c=4)
    logits = (X[:, :4] * 3).requires_grad_()
    loss, delta = softmax_cross_entropy(logits.detach(), y)
    ref = F.cross_entropy(logits, y)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach())
    torch.testing.assert_close(delta, logits.grad)
    big = torch.tensor([[1000.0, -1000.0]], dtype=torch.float64)  # no overflow
    assert torch.isfinite(softmax_cross_entropy(big, torch.tensor([1]))[0])


def test_softmax_jacobian_is_not_diagonal_and_the_combined_gradient_is_p_minus_y():
    z = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    p = torch.softmax(z, 0)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), z)
    torch.testing.assert_close(J, torch.diag(p) - torch.outer(p, p))
    assert (J - torch.diag(torch.diagonal(J))).abs().max() > 0.01  # off-diagonal terms
    y = 2
    dL_dp = torch.zeros(3, dtype=torch.float64)
    dL_dp[y] = -1 / p[y]
    torch.testing.assert_close(J.T @ dL_dp, p - torch.eye(3, dtype=torch.float64)[y])
    wrong = dL_dp * torch.diagonal(J)  # the elementwise (diagonal) form: wrong
    assert (wrong - (p - torch.eye(3, dtype=torch.float64)[y])).abs().max() > 0.1


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


def test_finite_differences_refuse_integer_tensors():
    # x +- eps on an int tensor truncates: the old code returned f'(x) / eps-sized garbage
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        finite_difference_grad(lambda t: (t**2).sum(), torch.tensor([1, 2, 3]))


def _old_relative_error(a, b):
    """The per-tensor max-norm measure the book used before: errors in small entries hide."""
    return (a - b).abs().max().item() / max(a.abs().max().item(), b.abs().max().item())


def test_relative_error_is_elementwise():
    a = torch.tensor([1000.0, 1e-3], dtype=torch.float64)
    b = torch.tensor([1000.0, 2e-3], dtype=torch.float64)  # the small entry is 100% off
    assert _old_relative_error(a, b) < 1e-5  # the old measure misses it
    assert relative_error(a, b) == pytest.approx(0.5)
    assert relative_error(a, a) == 0.0
    zeros = torch.zeros(3, dtype=torch.float64)
    assert relative_error(zeros, zeros) == 0.0
    assert relative_error(zeros, torch.full((3,), 1e-14, dtype=torch.float64)) < 1e-1
    # symmetric, and the worst entry decides
    c = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    d = torch.tensor([1.0, 2.2, 3.0], dtype=torch.float64)
    assert relative_error(c, d) == relative_error(d, c) == pytest.approx(0.2 / 2.2)


def test_round_trip_and_gradient_norms():
    X, y = _batch()
    mlp = ManualMLP([5, 8, 8, 3], "sigmoid", generator=torch.Generator().manual_seed(4))
    twin = mlp.to_sequential()
    back = ManualMLP.from_sequential(twin, "sigmoid")
    torch.testing.assert_close(back.forward(X)[0], mlp.forward(X)[0])
    F.cross_entropy(twin(X), y).backward()
    ref = [m.weight.grad.norm().item() for m in twin if hasattr(m, "weight")]
    assert layer_gradient_norms(mlp, X, y) == pytest.approx(ref, rel=1e-10)


def test_stored_values_count_the_cache():
    mlp = ManualMLP([64, 64, 10], "tanh", generator=torch.Generator().manual_seed(0))
    X = torch.randn(32, 64, dtype=torch.float64)
    _, cache = mlp.forward(X)
    assert sum(t.numel() for pair in cache for t in pair) == mlp.stored_values(32)
    assert mlp.stored_values(32) == 32 * (64 + 64 + 64 + 10)


# --- initialisation against torch.nn.init -------------------------------------------------


def _torch_init(n_in, n_out, scheme, seed):
    """torch.nn.init's version of each scheme, drawn with the same generator."""
    g = torch.Generator().manual_seed(seed)
    W = torch.empty(n_out, n_in, dtype=torch.float64)
    if scheme == "xavier":
        return torch.nn.init.xavier_uniform_(W, generator=g)
    if scheme == "he":
        return torch.nn.init.kaiming_normal_(W, nonlinearity="relu", generator=g)
    # nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(n_in))
    return torch.nn.init.kaiming_uniform_(W, a=math.sqrt(5), generator=g)


def _wrong_he(n_in, n_out, scheme, generator, dtype):
    """He with the variance 1/n_in (LeCun's), a factor 2 too small."""
    W = torch.empty(n_out, n_in, dtype=dtype).normal_(0, (1 / n_in) ** 0.5, generator=generator)
    return W, torch.zeros(n_out, dtype=dtype)


def _wrong_xavier(n_in, n_out, scheme, generator, dtype):
    """Xavier with the *standard deviation* sqrt(6/(n_in+n_out)) of a normal: sqrt(3) too big."""
    std = (6 / (n_in + n_out)) ** 0.5
    W = torch.empty(n_out, n_in, dtype=dtype).normal_(0, std, generator=generator)
    return W, torch.zeros(n_out, dtype=dtype)


def _matches_torch_init(init_fn, scheme, n_in=300, n_out=200):
    """Same draws as torch.nn.init (entry by entry), and the std of the formula (3%)."""
    W, b = init_fn(n_in, n_out, scheme, torch.Generator().manual_seed(5), torch.float64)
    ref = _torch_init(n_in, n_out, scheme, 5)
    same = torch.allclose(W, ref, rtol=1e-12, atol=1e-15)
    std_ok = abs(W.std().item() / init_std(n_in, n_out, scheme) - 1) < 0.03
    return same and std_ok and W.shape == (n_out, n_in) and b.shape == (n_out,)


@pytest.mark.parametrize("scheme", ["default", "xavier", "he"])
def test_initialisation_equals_torch_nn_init(scheme):
    assert _matches_torch_init(init_layer, scheme)
    # the formulas themselves, independent of torch
    assert init_std(300, 200, "he") == pytest.approx(math.sqrt(2 / 300))
    assert init_std(300, 200, "xavier") == pytest.approx(math.sqrt(2 / 500))
    assert init_std(300, 200, "default") == pytest.approx(1 / math.sqrt(900))


@pytest.mark.parametrize(("wrong", "scheme"), [(_wrong_he, "he"), (_wrong_xavier, "xavier")])
def test_wrong_initialisations_fail_the_same_test(wrong, scheme):
    assert not _matches_torch_init(wrong, scheme)


def test_initialisation_biases():
    g = torch.Generator().manual_seed(0)
    for scheme in ("xavier", "he"):
        assert torch.count_nonzero(init_layer(50, 40, scheme, g)[1]) == 0
    b = init_layer(50, 4000, "default", g)[1]
    assert b.abs().max() <= 50**-0.5 and b.std().item() == pytest.approx(1 / math.sqrt(150), 0.05)


def test_clear_errors():
    mlp = ManualMLP([4, 3, 2])
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        mlp.forward(torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="flatten"):
        mlp.forward(torch.zeros(5, 2, 2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        mlp.forward([[0.0] * 4])
    with pytest.raises(TypeError, match="float32"):
        mlp.forward(torch.zeros(5, 4, dtype=torch.float32))
    _, cache = mlp.forward(torch.zeros(5, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"delta_out must have shape \(5, 2\)"):
        mlp.backward(cache, torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="activation"):
        ManualMLP([4, 2], "swish")
    with pytest.raises(ValueError, match="init"):
        ManualMLP([4, 2], init="zeros")
    with pytest.raises(ValueError, match="sizes"):
        ManualMLP([4])
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        mlp.loss_and_grads(torch.zeros(2, 4, dtype=torch.float64), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="W must have shape"):
        ManualLayer.apply(torch.zeros(2, 3), torch.zeros(4, 2), torch.zeros(4), "tanh")
    with pytest.raises(ValueError, match="same shape"):
        relative_error(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="scalar"):
        finite_difference_grad(lambda t: t * 2, torch.zeros(2))


@pytest.mark.gpu
def test_manual_mlp_on_cuda_matches_cpu():
    """CPU vs CUDA, float64: the same gradients to 1e-10 (relative, elementwise)."""
    X, y = _batch(n=64, d=5, c=3)
    mlp = ManualMLP([5, 16, 3], "tanh", generator=torch.Generator().manual_seed(0))
    cpu_loss, cpu_grads = mlp.loss_and_grads(X, y)
    mlp.to("cuda")
    gpu_loss, gpu_grads = mlp.loss_and_grads(X.cuda(), y.cuda())
    assert relative_error(gpu_loss.cpu().reshape(1), cpu_loss.reshape(1)) < 1e-10
    for (gw, gb), (cw, cb) in zip(gpu_grads, cpu_grads, strict=True):
        assert relative_error(gw.cpu(), cw, floor=1e-12) < 1e-8
        assert relative_error(gb.cpu(), cb, floor=1e-12) < 1e-8
