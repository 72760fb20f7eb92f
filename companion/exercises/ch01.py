"""Checks for the exercises of Chapter 1, "A short history of large models".

Each check computes its reference itself, from PyTorch layers built on the ``meta`` device or
from its own arithmetic, on inputs the student does not choose: an answer cannot be copied
from a number printed in the chapter, and a function that merely calls the chapter's helpers
(``count_on_meta``, ``training_flops``) instead of implementing the formula is refused.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import torch
from torch import nn

from companion.exercises import CheckFailed, Passed, as_integer, expect_close, passed
from companion.history import TIMELINE

# Names a student's function may not use: the chapter's helpers and PyTorch's counters.
_FORBIDDEN = {
    "count_on_meta",
    "count_parameters",
    "parameter_table",
    "training_flops",
    "numel",
    "parameters",
    "Conv2d",
    "Bert",
    "BertConfig",
    "flops_to_pf_days",
}


def _require_function(fn, what: str) -> Callable:
    if not callable(fn):
        raise CheckFailed(f"{what} should be a function, got {type(fn).__name__}")
    code = getattr(fn, "__code__", None)
    used = set(code.co_names) & _FORBIDDEN if code is not None else set()
    if used:
        raise CheckFailed(
            f"{what} calls {', '.join(sorted(used))}: implement the formula with arithmetic "
            "instead of asking PyTorch or the companion for the answer"
        )
    return fn


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- ch01-conv: parameters of a (grouped) convolution ------------------------------------------


def _conv_reference(c_out: int, c_in: int, k: int, groups: int, bias: bool) -> int:
    with torch.device("meta"):
        return _count(nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias))


def check_conv_params(conv_params) -> Passed:
    """``conv_params(c_out, c_in, k, groups, bias)``: weights (+ biases) of a k x k convolution
    with ``c_in`` input channels split into ``groups``, compared with ``nn.Conv2d``."""
    fn = _require_function(conv_params, "conv_params")
    rng = random.Random(1)
    cases = [
        (256, 96, 5, 2, True),
        (96, 3, 11, 1, True),
        (64, 64, 3, 64, False),
    ]  # AlexNet, depthwise
    cases += [
        (
            rng.choice([8, 16, 48]),
            rng.choice([4, 8, 16]),
            rng.choice([1, 3, 5]),
            g,
            rng.random() < 0.5,
        )
        for g in (1, 2, 4)
        for _ in range(3)
    ]
    for c_out, c_in, k, groups, bias in cases:
        want = _conv_reference(c_out, c_in, k, groups, bias)
        got = as_integer(fn(c_out, c_in, k, groups, bias), "conv_params(...)")
        args = f"conv_params({c_out}, {c_in}, {k}, groups={groups}, bias={bias})"
        if got == want:
            continue
        if got == _conv_reference(c_out, c_in, k, 1, bias) and groups > 1:
            raise CheckFailed(
                f"{args} = {got:,} ignores the groups: each filter sees only "
                f"c_in / groups = {c_in // groups} channels"
            )
        if bias and got == want - c_out:
            raise CheckFailed(f"{args} = {got:,}: each of the {c_out} filters also has a bias")
        if not bias and got == want + c_out:
            raise CheckFailed(f"{args} = {got:,} counts biases, but bias=False")
        raise CheckFailed(f"{args} returned {got:,}, expected {want:,}")
    conv2 = _conv_reference(256, 96, 5, 2, True)
    return passed(
        f"your formula matches nn.Conv2d on {len(cases)} layers; AlexNet's conv2 has "
        f"{conv2:,} parameters."
    )


# --- ch01-bert: BERT's parameter count in closed form -------------------------------------------


def _bert_reference(V: int, P: int, S: int, d: int, L: int, d_ff: int) -> int:
    from companion.bert import Bert, BertConfig  # the companion's model: written independently

    cfg = BertConfig(
        vocab_size=V,
        max_position=P,
        type_vocab_size=S,
        n_layer=L,
        n_head=1,
        hidden=d,
        intermediate=d_ff,
    )
    with torch.device("meta"):
        return _count(Bert(cfg))


def check_bert_params(bert_params) -> Passed:
    """``bert_params(V, P, S, d, L, d_ff)``: parameters of a BERT encoder with the pooler, for
    configurations the student does not choose (so no printed count can be copied)."""
    fn = _require_function(bert_params, "bert_params")
    rng = random.Random(2)
    cases = [
        (
            rng.choice([100, 257, 1000]),
            rng.choice([16, 64]),
            rng.choice([1, 2, 3]),
            rng.choice([8, 24, 32]),
            rng.choice([1, 2, 5]),
            rng.choice([16, 40, 128]),
        )
        for _ in range(6)
    ]
    for V, P, S, d, L, d_ff in cases:
        want = _bert_reference(V, P, S, d, L, d_ff)
        args = f"bert_params(V={V}, P={P}, S={S}, d={d}, L={L}, d_ff={d_ff})"
        got = as_integer(fn(V, P, S, d, L, d_ff), args)
        if got == want:
            continue
        pooler = d * d + d
        if got == want - pooler:
            raise CheckFailed(
                f"{args} = {got:,}: you left out the pooler (a d x d layer with bias)"
            )
        if got == want - L * 4 * d or got == want - L * 4 * d - 2 * d:
            raise CheckFailed(
                f"{args} = {got:,}: each LayerNorm has a scale and a shift (2d), "
                "two per layer and one after the embeddings"
            )
        if got == want - 4 * d * L or got == want - L * (d + d_ff):
            raise CheckFailed(f"{args} = {got:,}: some biases are missing")
        raise CheckFailed(
            f"{args} returned {got:,}, expected {want:,} ({got - want:+,}). Hint: embeddings "
            "(V + P + S)·d + 2d; per layer 4d² + 4d (attention) + 2·d·d_ff + d_ff + d "
            "(feed-forward) + 4d (two LayerNorms); pooler d² + d"
        )
    return passed(
        f"your formula matches the companion's BERT on {len(cases)} random configurations."
    )


# --- ch01-chinchilla: compute-optimal allocation by C = 6ND and D = 20N --------------------------


def _optimal(C: float) -> tuple[float, float]:
    n = math.sqrt(C / 120.0)  # C = 6·N·D with D = 20·N  =>  C = 120·N²
    return n, 20.0 * n


def check_compute_optimal(compute_optimal) -> Passed:
    """``compute_optimal(C)`` returns ``(N, D)`` with ``6·N·D = C`` and ``D = 20·N``."""
    fn = _require_function(compute_optimal, "compute_optimal")
    for C in (5.88e23, 3.14e23, 1e21, 2.5e25):
        result = fn(C)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed(
                f"compute_optimal({C:.3g}) should return a pair (N, D), got {result!r}"
            )
        n, d = (float(v) for v in result)
        want_n, want_d = _optimal(C)
        if math.isclose(n, math.sqrt(C / 40), rel_tol=1e-3):
            raise CheckFailed(
                "that N solves 2·N·D = C: training costs 6 FLOPs per parameter "
                "and token (forward 2, backward 4)"
            )
        if math.isclose(n, want_d, rel_tol=1e-3) and math.isclose(d, want_n, rel_tol=1e-3):
            raise CheckFailed("N and D are swapped: the function returns (parameters, tokens)")
        expect_close(
            n,
            want_n,
            f"N for C = {C:.3g}",
            rtol=1e-3,
            atol=0.0,
            hint="substitute D = 20N into C = 6ND and solve for N",
        )
        expect_close(d, want_d, f"D for C = {C:.3g}", rtol=1e-3, atol=0.0, hint="D = 20N")
    n, d = _optimal(5.88e23)
    return passed(
        f"Chinchilla's budget, 5.88e23 FLOPs, gives N = {n / 1e9:.0f}e9 parameters "
        f"and D = {d / 1e12:.2f}e12 tokens: the model Hoffmann et al. trained."
    )


# --- ch01-order ----------------------------------------------------------------------------------


def check_chronological(order: Sequence[str], events: Sequence[str]) -> Passed:
    """``order``: exactly the ``events`` (texts of :data:`companion.history.TIMELINE`), oldest
    first."""
    when = {e.event: (e.year, e.month or 0) for e in TIMELINE}
    if isinstance(order, str) or not isinstance(order, Sequence):
        raise CheckFailed(f"give a list of event names, got {type(order).__name__}")
    unknown = [name for name in order if name not in when]
    if unknown:
        raise CheckFailed(
            f"{unknown[0]!r} is not an event of the timeline; copy the names "
            "exactly from the list in the exercise"
        )
    if sorted(order) != sorted(events):
        missing = sorted(set(events) - set(order))
        extra = len(order) - len(set(order))
        detail = f"{len(missing)} missing" + (f", {extra} repeated" if extra else "")
        raise CheckFailed(
            f"put every one of the {len(events)} events in the list, each once ({detail})"
        )
    if len(order) < 2:
        raise CheckFailed("there is nothing to order in fewer than two events")
    for earlier, later in zip(order, order[1:], strict=False):
        if when[earlier] > when[later]:
            raise CheckFailed(
                f"{earlier!r} ({when[earlier][0]}) comes after {later!r} "
                f"({when[later][0]}), not before it"
            )
    return passed("the events are in chronological order.")
