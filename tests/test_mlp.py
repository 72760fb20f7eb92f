"""Chapter 2's neuron, activations and MLP, checked against PyTorch's own layers."""

import pytest
import torch
from torch import nn

from companion.mlp import (
    ACTIVATIONS,
    MLP,
    Neuron,
    activation_derivative,
    compose_linear,
    count_parameters,
    mlp_parameter_count,
)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu", "gelu"])
def test_neuron_equals_linear_layer_with_one_output(name):
    torch.manual_seed(0)
    neuron = Neuron(5, activation=name)
    linear = nn.Linear(5, 1)
    with torch.no_grad():
        linear.weight.copy_(neuron.weight[None, :])
        linear.bias.copy_(neuron.bias[None])
    x = torch.randn(7, 5)
    torch.testing.assert_close(neuron(x), ACTIVATIONS[name](linear(x))[:, 0])


def test_neuron_by_hand_and_gradient():
    neuron = Neuron(3, activation="relu").double()
    with torch.no_grad():
        neuron.weight.copy_(torch.tensor([1.0, -2.0, 0.5]))
        neuron.bias.fill_(0.25)
    x = torch.tensor([[2.0, 1.0, 4.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    # 2 - 2 + 2 + 0.25 = 2.25 ; -2 + 0.25 < 0 -> 0
    torch.testing.assert_close(neuron(x), torch.tensor([2.25, 0.0], dtype=torch.float64))
    assert count_parameters(neuron) == 4
    xs = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    tanh_neuron = Neuron(3, activation="tanh").double()
    assert torch.autograd.gradcheck(tanh_neuron, (xs,))


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu", "gelu"])
def test_closed_form_derivatives_match_autograd(name):
    z = torch.linspace(-4, 4, 81, dtype=torch.float64)
    z = z[z != 0]  # ReLU has a kink at 0
    z.requires_grad_(True)
    (grad,) = torch.autograd.grad(ACTIVATIONS[name](z).sum(), z)
    torch.testing.assert_close(activation_derivative(name, z.detach()), grad)


def test_known_derivative_values():
    z = torch.tensor([0.0])
    assert activation_derivative("sigmoid", z).item() == pytest.approx(0.25)
    assert activation_derivative("tanh", z).item() == pytest.approx(1.0)
    assert activation_derivative("gelu", z).item() == pytest.approx(0.5)
    assert activation_derivative("relu", torch.tensor([-1.0, 3.0])).tolist() == [0.0, 1.0]


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="unknown activation 'softsign'"):
        MLP((4, 3), activation="softsign")
    with pytest.raises(TypeError, match="tensor"):
        activation_derivative("relu", [1.0, 2.0])


def test_mlp_equals_sequential():
    torch.manual_seed(1)
    mlp = MLP((6, 8, 5, 3), activation="tanh")
    seq = nn.Sequential(mlp.layers[0], nn.Tanh(), mlp.layers[1], nn.Tanh(), mlp.layers[2])
    x = torch.randn(10, 6)
    torch.testing.assert_close(mlp(x), seq(x))
    assert mlp.depth == 3


@pytest.mark.parametrize(
    "widths, expected",
    [
        ((64, 10), 64 * 10 + 10),
        ((64, 64, 10), 64 * 64 + 64 + 64 * 10 + 10),  # 4,810
        ((784, 256, 128, 10), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10),
    ],
)
def test_parameter_counts_by_hand(widths, expected):
    assert mlp_parameter_count(widths) == expected
    assert count_parameters(MLP(widths)) == expected


def test_mlp_rejects_wrong_shapes_with_clear_errors():
    mlp = MLP((64, 16, 10))
    with pytest.raises(ValueError, match=r"x must have shape \(n, 64\), got \(5, 63\)"):
        mlp(torch.randn(5, 63))
    with pytest.raises(ValueError, match="flatten images first"):
        mlp(torch.randn(5, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\(n, 64\), got \(64,\)"):
        mlp(torch.randn(64))
    with pytest.raises(TypeError, match="torch.as_tensor"):
        mlp([[0.0] * 64])
    with pytest.raises(ValueError, match="at least two widths"):
        MLP((64,))
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        MLP((64, 0, 10))
    with pytest.raises(ValueError, match="d_in must be >= 1"):
        Neuron(0)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        Neuron(3)(torch.randn(2, 4))


def test_linear_stack_collapses_to_one_linear_map():
    torch.manual_seed(2)
    layers = [nn.Linear(4, 7), nn.Linear(7, 5), nn.Linear(5, 3)]
    x = torch.randn(9, 4)
    W, b = compose_linear(layers)
    assert W.shape == (3, 4) and b.shape == (3,)
    torch.testing.assert_close(x @ W.T + b, layers[2](layers[1](layers[0](x))))
    # with ReLUs between the layers no affine map fits: least squares leaves a residual
    x_big = torch.randn(500, 4)
    h = layers[2](torch.relu(layers[1](torch.relu(layers[0](x_big))))).detach()
    X1 = torch.cat([x_big, torch.ones(500, 1)], 1)
    best = torch.linalg.lstsq(X1, h).solution
    assert (X1 @ best - h).abs().max() > 1e-3


def test_compose_linear_checks_its_input():
    with pytest.raises(ValueError, match="at least one"):
        compose_linear([])
    with pytest.raises(ValueError, match="in_features=6 cannot follow one with out_features=5"):
        compose_linear([nn.Linear(3, 5), nn.Linear(6, 2)])
    W, b = compose_linear([nn.Linear(3, 5, bias=False), nn.Linear(5, 2)])
    assert W.shape == (2, 3) and b.shape == (2,)


def test_parameter_count_formula_catches_wrong_variants():
    # plausible wrong formulas (weights only; a bias per input) differ from nn.Linear's count
    widths = (7, 5, 3)
    truth = sum(
        p.numel()
        for a, b in zip(widths, widths[1:], strict=False)
        for p in nn.Linear(a, b).parameters()
    )
    weights_only = sum(a * b for a, b in zip(widths, widths[1:], strict=False))
    bias_per_input = sum(a * b + a for a, b in zip(widths, widths[1:], strict=False))
    assert mlp_parameter_count(widths) == truth
    assert truth not in (weights_only, bias_per_input)


def test_compose_linear_catches_the_wrong_order():
    torch.manual_seed(5)
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    W, _ = compose_linear([a, b])
    torch.testing.assert_close(W, b.weight.detach() @ a.weight.detach())
    assert not torch.allclose(W, a.weight.detach() @ b.weight.detach(), atol=1e-3)


@pytest.mark.gpu
def test_mlp_on_cuda_matches_cpu():
    """The same weights give the same logits and gradients on CUDA and on the CPU, within
    float32 rounding (TF32 matmuls off): rtol 1e-5, atol 1e-5."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    cpu = MLP((64, 32, 10), activation="gelu")
    gpu = MLP((64, 32, 10), activation="gelu").cuda()
    gpu.load_state_dict(cpu.state_dict())
    x = torch.randn(16, 64)
    out_cpu, out_gpu = cpu(x), gpu(x.cuda())
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, rtol=1e-5, atol=1e-5)
    out_cpu.square().sum().backward()
    out_gpu.square().sum().backward()
    for p_cpu, p_gpu in zip(cpu.parameters(), gpu.parameters(), strict=True):
        torch.testing.assert_close(p_gpu.grad.cpu(), p_cpu.grad, rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="x"):
        gpu(x.cuda().double())  # float64 into a float32 model, also on the GPU
