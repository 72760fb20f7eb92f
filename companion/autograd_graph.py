"""Export and draw the computational graph of a :class:`~companion.autograd.Value`
(Chapter 4, "An autograd engine", figure of the graph).

:func:`trace` returns the graph as plain data (nodes in topological order and edges
``child -> parent``); :func:`draw_graph` lays it out by depth and draws it with
matplotlib (no graphviz needed): one box per value showing ``label | data | grad``, one
circle per operation.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from companion.autograd import Value


def trace(root: Value) -> tuple[list[Value], list[tuple[Value, Value]]]:
    """Nodes of the graph that ends in ``root`` (children first) and its edges (child, parent)."""
    if not isinstance(root, Value):
        raise TypeError(f"trace expects a Value, got {type(root).__name__}")
    nodes = root.topological_order()
    edges = [(child, node) for node in nodes for child in node.children]
    return nodes, edges


def _columns(nodes: list[Value]) -> dict[int, int]:
    """Column of each node: inner nodes at their longest distance from a leaf, leaves one
    column left of the first operation that uses them (so constants sit next to their use)."""
    depth: dict[int, int] = {}
    for node in nodes:  # children first
        depth[id(node)] = 1 + max((depth[id(c)] for c in node.children), default=-1)
    for node in nodes:
        for child in node.children:
            if not child.children:
                depth[id(child)] = max(depth[id(child)], depth[id(node)] - 1)
    for node in reversed(nodes):  # a leaf used by several nodes: left of the earliest use
        for child in node.children:
            if not child.children:
                depth[id(child)] = min(depth[id(child)], depth[id(node)] - 1)
    return depth


def draw_graph(root: Value, ax=None, show_grad: bool = True):
    """Draw the graph of ``root`` left (inputs) to right (output); return the figure."""
    nodes, edges = trace(root)
    depth = _columns(nodes)
    columns: dict[int, list[Value]] = {}
    for node in nodes:
        columns.setdefault(depth[id(node)], []).append(node)
    pos, dx = {}, 2.6
    for d, members in columns.items():
        for i, node in enumerate(members):
            pos[id(node)] = (dx * d, 1.2 * ((len(members) - 1) / 2 - i))
    if ax is None:
        n_rows = max(len(m) for m in columns.values())
        _, ax = plt.subplots(figsize=(1.9 * len(columns) + 1, 0.85 * n_rows + 1.4))
    arrow = dict(arrowstyle="->", color="0.45", lw=1.0, shrinkA=18, shrinkB=8)
    for node in nodes:
        x, y = pos[id(node)]
        text = f"{node.label + ' = ' if node.label else ''}{node.data:.4g}"
        if show_grad:
            text += f"\ngrad {node.grad:.4g}"
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=8,
            bbox=dict(boxstyle="round", fc="#e8f0fe", ec="#3367d6"),
        )
        if node.op:  # an operation circle left of the node it produced
            ox, oy = x - 1.25, y
            ax.text(
                ox,
                oy,
                node.op,
                ha="center",
                va="center",
                fontsize=8,
                bbox=dict(boxstyle="circle", fc="#fff4e0", ec="#e37400"),
            )
            ax.annotate(
                "",
                xy=(x - 0.6, y),
                xytext=(ox, oy),
                arrowprops={**arrow, "shrinkA": 8, "shrinkB": 0},
            )
            for child in node.children:
                cx, cy = pos[id(child)]
                ax.annotate("", xy=(ox, oy), xytext=(cx, cy), arrowprops=arrow)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    return ax.figure
