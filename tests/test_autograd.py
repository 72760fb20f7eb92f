"""The scalar engine agrees with torch (float64) value for value (Chapter 4)."""

import math
import random

import matplotlib
import pytest
import torch

from companion.autograd import Value
from companion.autograd_graph import draw_graph, trace

matplotlib.use("Agg")

# operations written once, applied to Values and to float64 tensors alike
UNARY = [
    lambda a: -a,
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: a.relu(),
    lambda a: a.tanh().exp(),
    lambda a: (a * a + 1).log(),
    lambda a: a**2,
    lambda a: a**3,
    lambda a: (a * a + 0.5) ** -1.5,
    lambda a: 2.0 - a,
    lambda a: 3.0 / (a * a + 1),
    lambda a: 1.5 * a,
    lambda a: 0.5 + a,
    lambda a: a - 0.25,
]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1),
]


def random_expression(rng: random.Random, depth: int, n_leaves: int):
    """A random expression tree as a function of the leaves (leaves may repeat)."""
    if depth == 0 or rng.random() < 0.2:
        i = rng.randrange(n_leaves)
        return lambda leaves: leaves[i]
    if rng.random() < 0.5:
        op, sub = rng.choice(UNARY), random_expression(rng, depth - 1, n_leaves)
        return lambda leaves: op(sub(leaves))
    op = rng.choice(BINARY)
    left = random_expression(rng, depth - 1, n_leaves)
    right = random_expression(rng, depth - 1, n_leaves)
    return lambda leaves: op(left(leaves), right(leaves))


@pytest.mark.parametrize("seed", range(300))
def test_random_expressions_match_torch(seed):
    rng = random.Random(seed)
    xs = [rng.uniform(-2, 2) for _ in range(3)]
    expr = random_expression(rng, depth=rng.randint(1, 6), n_leaves=3)
    leaves = [Value(x) for x in xs]
    out = expr(leaves) + leaves[0] * 0.0  # keep every leaf in the graph
    out.backward()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    ref = expr(ts) + ts[0] * 0.0
    ref.backward()
    assert math.isclose(out.data, ref.item(), rel_tol=1e-10, abs_tol=1e-12)
    for v, t in zip(leaves, ts, strict=True):
        want = 0.0 if t.grad is None else t.grad.item()
        assert math.isclose(v.grad, want, rel_tol=1e-9, abs_tol=1e-12), (v.grad, want)


def test_gradients_accumulate_like_pytorch():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.backward()
    assert x.grad == 7.0
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    ty = t * t + t
    ty.backward(retain_graph=True)
    y.backward()  # a second backward adds, as in PyTorch
    ty.backward()
    assert x.grad == t.grad.item() == 14.0
    y.zero_grad()  # the equivalent of optimizer.zero_grad()
    assert x.grad == 0.0
    y.backward()
    assert x.grad == 7.0
    # two losses sharing a leaf: backward on each adds both contributions
    a = Value(2.0)
    (a * 3.0).backward()
    (a * a).backward()
    assert a.grad == 3.0 + 4.0
    # a leaf as the output: d a / d a = 1, accumulated
    leaf = Value(5.0)
    leaf.backward()
    assert leaf.grad == 1.0


def test_sigmoid_is_stable_for_large_inputs():
    for x in (-800.0, 800.0):
        v = Value(x)
        s = v.sigmoid()
        s.backward()
        assert 0.0 <= s.data <= 1.0 and v.grad == 0.0


def test_clear_errors():
    with pytest.raises(TypeError, match="real number"):
        Value("2")
    with pytest.raises(TypeError, match="real number"):
        Value(True)
    with pytest.raises(TypeError, match="unsupported operand for '\\+'"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="unsupported operand for '\\*'"):
        [1.0] * Value(2.0)
    with pytest.raises(TypeError, match="exponent must be a constant"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="number \\*\\* Value"):
        2.0 ** Value(3.0)
    with pytest.raises(AttributeError, match="sin"):  # an ordinary missing attribute
        Value(1.0).sin()
    with pytest.raises(AttributeError, match="gard"):  # a typo is a typo, not an "operation"
        Value(1.0).gard  # noqa: B018
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    assert not hasattr(Value(1.0), "sin")


def test_trace_and_draw():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    d = (c + a).tanh()
    nodes, edges = trace(d)
    assert nodes[-1] is d and len(nodes) == 5
    assert {(x.label or x.op, y.op) for x, y in edges} == {
        ("a", "*"),
        ("b", "*"),
        ("*", "+"),
        ("a", "+"),
        ("+", "tanh"),
    }
    d.backward()
    fig = draw_graph(d)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert len(texts) == 5 + 3  # five value boxes, three operation circles
    assert any(t.startswith("a = 2\ngrad") for t in texts)
    with pytest.raises(TypeError, match="expects a Value"):
        trace(1.0)
