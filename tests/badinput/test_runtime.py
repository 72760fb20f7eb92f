"""Plausible mistakes with companion.runtime: device names, profiles, seeds, threads."""

import pytest
import torch

from companion import runtime
from tests.badinput.harness import expect_clear_error


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    monkeypatch.delenv(runtime.PROFILE_ENV, raising=False)


CASES = [
    ("preferred", lambda: runtime.get_device("gpu")),
    ("preferred", lambda: runtime.get_device("tpu")),
    ("preferred", lambda: runtime.get_device("cuda:x")),
    ("preferred", lambda: runtime.get_device("cuda 0")),
    ("preferred", lambda: runtime.get_device(0)),
    ("preferred", lambda: runtime.get_device(["cpu"])),
    ("name", lambda: runtime.get_profile("huge")),
    ("name", lambda: runtime.get_profile("")),
    ("name", lambda: runtime.get_profile(1)),
    ("name", lambda: runtime.Profile("medium")),
    ("seed", lambda: runtime.seed_everything(-1)),
    ("seed", lambda: runtime.seed_everything(1.5)),
    ("seed", lambda: runtime.seed_everything("0")),
    ("seed", lambda: runtime.seed_everything(True)),
    ("seed", lambda: runtime.seed_everything(2**40)),  # NumPy's legacy seed is 32-bit
    ("n", lambda: runtime.cpu_threads(0).__enter__()),
    ("n", lambda: runtime.cpu_threads(2.0).__enter__()),
    ("n", lambda: runtime.cpu_threads("2").__enter__()),
    ("device", lambda: runtime.describe("cpu", runtime.Profile("small"))),
]


@pytest.mark.parametrize(("name", "call"), CASES)
def test_runtime_refuses(name, call):
    expect_clear_error(call, name)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (runtime.DEVICE_ENV, "gpu"),
        (runtime.DEVICE_ENV, "cuda;0"),
        (runtime.DEVICE_ENV, "cpu0"),
        (runtime.PROFILE_ENV, "big"),
        (runtime.PROFILE_ENV, "smal"),
    ],
)
def test_a_typo_in_an_environment_variable_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    call = runtime.get_device if variable == runtime.DEVICE_ENV else runtime.get_profile
    expect_clear_error(call, variable, kind=ValueError)


@pytest.mark.parametrize("name", ["CPU", " cpu", "Cpu ", "cpu:0"])
def test_device_names_torch_refuses_are_normalised_and_give_the_cpu(name):
    assert runtime.get_device(name).type == "cpu"
    x = torch.ones(2, device=runtime.get_device(name))  # usable by torch
    assert x.sum().item() == 2.0


@pytest.mark.parametrize(("given", "expected"), [("LARGE", "large"), (" Small ", "small")])
def test_profile_names_are_normalised(given, expected):
    assert runtime.get_profile(given).name == expected
