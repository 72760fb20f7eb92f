"""Bad input to companion.distributed.launcher (Chapter 9, §9.4): refused before anything starts."""

from __future__ import annotations

import pytest

from companion.distributed import launch
from companion.distributed.ddp_train import check_world_size
from tests.badinput.harness import expect_clear_error

CASES = [
    ("nproc zero", lambda: launch(0), "nproc", ValueError),
    ("nproc negative", lambda: launch(-2), "nproc", ValueError),
    ("nproc float", lambda: launch(2.0), "nproc", TypeError),
    ("nproc bool", lambda: launch(True), "nproc", TypeError),
    ("nproc string", lambda: launch("2"), "nproc", TypeError),
    ("nproc not dividing", lambda: launch(3, global_batch=64), "nproc", ValueError),
    ("nproc > batch", lambda: launch(4, global_batch=2), "nproc", ValueError),
    ("mode unknown", lambda: launch(2, mode="zero3"), "mode", ValueError),
    ("steps zero", lambda: launch(2, steps=0), "steps", ValueError),
    ("lr negative", lambda: launch(2, lr=-0.1), "lr", ValueError),
    ("lr nan", lambda: launch(2, lr=float("nan")), "lr", ValueError),
    ("timeout zero", lambda: launch(2, timeout=0), "timeout", ValueError),
    ("timeout inf", lambda: launch(2, timeout=float("inf")), "timeout", ValueError),
    ("wall timeout negative", lambda: launch(2, wall_timeout=-1), "wall_timeout", ValueError),
    ("batch zero", lambda: launch(2, global_batch=0), "global_batch", ValueError),
    ("extra args string", lambda: launch(2, extra_args="--steps=3"), "extra_args", TypeError),
    ("world size script", lambda: check_world_size(5, 64), "world_size", ValueError),
    ("world size zero", lambda: check_world_size(0, 64), "world_size", ValueError),
]


@pytest.mark.parametrize(
    ("call", "name", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)
