"""A scalar reverse-mode automatic differentiation engine (Chapter 4, "An autograd engine").

Every :class:`Value` holds a number (``data``), the derivative of the final output with
respect to it (``grad``, filled by :meth:`Value.backward`), the values it was computed
from (``children``) and a ``_backward`` closure that applies the *local* chain rule,
eq. (ch04-chain-local):  ``child.grad += (d self / d child) * self.grad``.
:meth:`Value.backward` visits the graph in reverse topological order, so every node's
``grad`` is complete before it is passed on to its children.

Operations: ``+ - * /``, ``**`` by a constant, unary ``-``, :meth:`exp`, :meth:`log`,
:meth:`tanh`, :meth:`sigmoid`, :meth:`relu`. Combining a ``Value`` with anything but a
``Value`` or a real number raises ``TypeError``; an operation the engine lacks (``.sin()``)
is Python's ordinary ``AttributeError``.

Gradients **accumulate**, as in PyTorch and micrograd: :meth:`Value.backward` adds
d(output)/d(leaf) to every leaf's ``grad``, so a second ``backward`` (or a second loss)
adds again. Call :meth:`Value.zero_grad` (or set ``leaf.grad = 0.0``) before each new
gradient, as you would call ``optimizer.zero_grad()`` in PyTorch. Inner nodes hold the
gradient of the latest ``backward`` only.
The design follows Karpathy's micrograd; :mod:`companion.autograd_graph` draws the graph.
"""

from __future__ import annotations

import math
from numbers import Real


def _is_number(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


class Value:
    """A scalar node of a computational graph (计算图)."""

    __slots__ = ("data", "grad", "children", "op", "label", "_backward")

    def __init__(self, data, children: tuple = (), op: str = "", label: str = ""):
        if not _is_number(data):
            raise TypeError(f"Value holds a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.children = tuple(children)
        self.op = op
        self.label = label
        self._backward = lambda: None

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(other, op: str) -> Value:
        if isinstance(other, Value):
            return other
        if _is_number(other):
            return Value(other)
        raise TypeError(
            f"unsupported operand for {op!r}: Value and {type(other).__name__}; "
            "the engine combines Values with Values or plain real numbers"
        )

    # ---- binary operations: each sets out._backward to its local derivative ----
    def __add__(self, other) -> Value:
        other = self._lift(other, "+")
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a+b)/da = d(a+b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> Value:
        other = self._lift(other, "*")
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent) -> Value:
        if not _is_number(exponent):
            raise TypeError(
                f"Value ** {type(exponent).__name__} is not supported: the exponent must be "
                "a constant int or float (write exp(y * log(x)) for x ** y with y a Value)"
            )
        out = Value(self.data**exponent, (self,), f"**{exponent:g}")

        def _backward():  # d(x^k)/dx = k x^(k-1)
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base):
        raise TypeError("number ** Value is not supported; write (value * log(base)).exp()")

    def __sub__(self, other) -> Value:
        other = self._lift(other, "-")
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():  # d(a-b)/da = 1, d(a-b)/db = -1
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self._unary(-self.data, -1.0, "neg")

    def __truediv__(self, other) -> Value:
        return self * self._lift(other, "/") ** -1

    def __radd__(self, other) -> Value:
        return self._lift(other, "+") + self

    def __rmul__(self, other) -> Value:
        return self._lift(other, "*") * self

    def __rsub__(self, other) -> Value:
        return self._lift(other, "-") - self

    def __rtruediv__(self, other) -> Value:
        return self._lift(other, "/") / self

    # ---- unary functions: out = f(x), local derivative f'(x) ----
    def _unary(self, value: float, local_grad: float, op: str) -> Value:
        out = Value(value, (self,), op)

        def _backward():
            self.grad += local_grad * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log needs a positive argument, got {self.data}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self) -> Value:
        x = self.data  # numerically stable for large |x|
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self) -> Value:
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    # ---- reverse mode ----
    def topological_order(self) -> list[Value]:
        """Every node this one depends on, children before parents (iterative DFS)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node.children if id(c) not in seen)
        return order

    def backward(self) -> None:
        """Add d(self)/d(leaf) to ``grad`` of every leaf, eq. (ch04-chain-local).

        Inner nodes are reset first (their ``grad`` is this pass's only), leaves accumulate
        across calls like ``torch.Tensor.grad``: see :meth:`zero_grad`.
        """
        order = self.topological_order()
        for node in order:
            if node.children:
                node.grad = 0.0
        self.grad += 1.0  # d self / d self (added: self may be a leaf with a gradient)
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on every node of the graph that ends in this one."""
        for node in self.topological_order():
            node.grad = 0.0
