import random

import numpy as np
import pytest
import torch

from companion import runtime


def test_default_device_is_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.get_device() == torch.device("cpu")
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    assert runtime.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device() == torch.device("cuda")


def test_explicit_device_and_environment_override(monkeypatch):
    assert runtime.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    assert runtime.get_device() == torch.device("cpu")


def test_unknown_or_missing_device_is_a_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="preferred 'tpu' is not a device"):
        runtime.get_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.get_device("cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.get_device(" CUDA:0 ")


@pytest.mark.parametrize("name", ["CPU", " cpu ", "Cpu", torch.device("cpu")])
def test_device_names_are_case_and_space_insensitive(name, monkeypatch):
    """torch.device("CPU") raises; get_device accepts what the check accepts."""
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    assert runtime.get_device(name) == torch.device("cpu")
    monkeypatch.setenv(runtime.DEVICE_ENV, name if isinstance(name, str) else "cpu")
    assert runtime.get_device() == torch.device("cpu")


def test_a_typo_in_course_device_names_the_variable(monkeypatch):
    monkeypatch.setenv(runtime.DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE 'gpu' is not a device"):
        runtime.get_device()
    monkeypatch.setenv(runtime.DEVICE_ENV, "")  # empty: as if unset
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.get_device() == torch.device("cpu")


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        runtime.seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002

    assert draw() == draw()
    with pytest.raises(ValueError, match="seed must be >= 0"):
        runtime.seed_everything(-1)
    runtime.seed_everything(np.int64(7))  # a NumPy integer is a fine seed
    assert torch.rand(1).item() == draw()[2]


def test_profile_default_env_and_errors(monkeypatch):
    monkeypatch.delenv(runtime.PROFILE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.get_profile().name == "small"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_profile().name == "large"
    monkeypatch.setenv(runtime.PROFILE_ENV, "small")
    assert runtime.get_profile().pick(1, 2) == 1
    assert runtime.get_profile("large").pick(1, 2) == 2
    with pytest.raises(ValueError, match="unknown profile name='huge'"):
        runtime.get_profile("huge")
    assert runtime.get_profile(" LARGE ").name == "large"
    monkeypatch.setenv(runtime.PROFILE_ENV, "smal")
    with pytest.raises(ValueError, match="COURSE_PROFILE='smal'"):
        runtime.get_profile()


def test_quiet_follows_ci_variables(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("COURSE_QUIET", raising=False)
    assert not runtime.is_quiet()
    monkeypatch.setenv("CI", "true")
    assert runtime.is_quiet()


def test_cpu_threads_sets_and_restores():
    before = torch.get_num_threads()
    with runtime.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n must be >= 1"):
        with runtime.cpu_threads(0):
            pass
