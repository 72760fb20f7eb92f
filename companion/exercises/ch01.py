"""Checks for the exercises of Chapter 1, "A short history of large models"."""

from __future__ import annotations

from collections.abc import Sequence

from companion.exercises import CheckFailed, Passed, expect_close, expect_integer, passed
from companion.history import TIMELINE, training_flops

# Exercise ch01-conv2: AlexNet's conv2, 256 filters of 5x5 over 48 channels (groups=2), + biases.
CONV2_PARAMS = 256 * 5 * 5 * 48 + 256  # 307,456

# Exercise ch01-bert-base: Bert(BERT_BASE), pooler included (companion.bert).
BERT_BASE_PARAMS = 109_482_240
BERT_BASE_POOLER = 768 * 768 + 768

# Exercise ch01-chinchilla: 70e9 parameters, 1.4e12 tokens (Hoffmann et al. 2022).
CHINCHILLA_N, CHINCHILLA_D = 70e9, 1.4e12


def check_conv2_params(answer) -> Passed:
    """Parameters of AlexNet's grouped conv2 (weights and biases)."""
    if answer == 256 * 5 * 5 * 96 + 256:
        raise CheckFailed(
            "that is the count without groups: in the two-GPU network each conv2 "
            "filter sees only the 48 channels on its own GPU, not all 96"
        )
    if answer == 256 * 5 * 5 * 48:
        raise CheckFailed("the weights are right, but each of the 256 filters also has a bias")
    expect_integer(
        answer,
        CONV2_PARAMS,
        "conv2's parameter count",
        hint="filters x (kernel height x kernel width x input channels per group) "
        "+ one bias per filter",
    )
    return passed(f"conv2 has {CONV2_PARAMS:,} parameters.")


def check_bert_base_count(answer) -> Passed:
    """BERT-base's parameter count, pooler included."""
    if answer == BERT_BASE_PARAMS - BERT_BASE_POOLER:
        raise CheckFailed("you left out the pooler (a 768x768 dense layer with bias)")
    expect_integer(
        answer,
        BERT_BASE_PARAMS,
        "BERT-base's parameter count",
        hint="embeddings (V + 512 + 2)·C + 2C, twelve layers of 12C² + 13C "
        "(feed-forward 4C), pooler C² + C",
    )
    return passed(f"BERT-base has {BERT_BASE_PARAMS:,} parameters; Devlin et al. round to 110M.")


def check_chinchilla_flops(flops, pf_days) -> Passed:
    """Training compute of Chinchilla by 6·N·D, in FLOPs and in petaflop/s-days."""
    want = training_flops(CHINCHILLA_N, CHINCHILLA_D)
    got = float(flops)
    if abs(got / want - 1 / 3) < 0.01:
        raise CheckFailed(
            "that is 2·N·D, the forward pass only; training adds the backward "
            "pass, about twice the forward cost"
        )
    expect_close(got, want, "the training FLOPs", rtol=0.01, atol=0.0)
    expect_close(
        pf_days,
        want / 8.64e19,
        "the compute in PF-days",
        rtol=0.01,
        atol=0.0,
        hint="one PF-day is 1e15 FLOP/s for 86,400 seconds",
    )
    return passed(f"about {want:.2e} FLOPs, {want / 8.64e19:,.0f} PF-days.")


def check_chronological(order: Sequence[str]) -> Passed:
    """Events of :data:`companion.history.TIMELINE` (by their ``event`` text), oldest first."""
    years = {e.event: e.year for e in TIMELINE}
    if isinstance(order, str) or not isinstance(order, Sequence):
        raise CheckFailed(f"give a list of event names, got {type(order).__name__}")
    unknown = [name for name in order if name not in years]
    if unknown:
        raise CheckFailed(
            f"{unknown[0]!r} is not an event of the timeline; copy the names "
            "exactly from the list in the exercise"
        )
    for earlier, later in zip(order, order[1:], strict=False):
        if years[earlier] > years[later]:
            raise CheckFailed(
                f"{earlier!r} ({years[earlier]}) comes after {later!r} "
                f"({years[later]}), not before it"
            )
    return passed("the events are in chronological order.")
