"""Plausible mistakes with companion.data: split sizes, flags, checksums, paths, devices."""

import hashlib

import numpy as np
import pytest

from companion import data
from companion.data import cifar10
from tests.badinput.harness import expect_clear_error


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    path = tmp_path_factory.mktemp("blob") / "blob.bin"
    path.write_bytes(b"convolution" * 100)
    return path


CASES = [
    ("test_size", lambda: data.load_digits(test_size=0)),
    ("test_size", lambda: data.load_digits(test_size=1.0)),
    ("test_size", lambda: data.load_digits(test_size=-0.1)),
    ("test_size", lambda: data.load_digits(test_size=25)),  # read as 25 rows by sklearn
    ("test_size", lambda: data.load_digits(test_size=float("nan"))),
    ("test_size", lambda: data.load_digits(test_size="0.25")),
    ("test_size", lambda: data.load_breast_cancer(test_size=1.5)),
    ("images", lambda: data.load_digits(images="yes")),
    ("images", lambda: data.load_digits(images=1)),
    ("n_test", lambda: data.load_mnist5k(n_test=5)),  # fewer than one per class
    ("n_test", lambda: data.load_mnist5k(n_test=4999)),
    ("n_test", lambda: data.load_mnist5k(n_test=0.2)),
    ("root", lambda: cifar10.load_cifar10(root=5)),
    ("download", lambda: cifar10.load_cifar10(root="nowhere", download="yes")),
    ("md5", lambda: cifar10.load_cifar10(root="nowhere", md5="abc")),
    ("url", lambda: cifar10.download_cifar10("nowhere", url="http://example.org/x.tgz")),
]


@pytest.mark.parametrize(("name", "call"), CASES)
def test_loaders_refuse(name, call):
    expect_clear_error(call, name)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("chunk_size", {"chunk_size": 0}),  # read nothing: the MD5 of an empty file
        ("chunk_size", {"chunk_size": -1}),  # read the whole file at once
        ("chunk_size", {"chunk_size": 1.5}),
        ("chunk_size", {"chunk_size": None}),
    ],
)
def test_md5sum_refuses(blob, name, kwargs):
    expect_clear_error(lambda: cifar10.md5sum(blob, **kwargs), name)


def test_md5sum_refuses_a_path_of_the_wrong_kind():
    expect_clear_error(lambda: cifar10.md5sum(123), "path", kind=TypeError)


@pytest.mark.parametrize("bad", ["abc", "z" * 32, None, 0])
def test_verify_checksum_refuses_a_malformed_digest(blob, bad):
    expect_clear_error(lambda: cifar10.verify_checksum(blob, bad), "expected_md5")


def test_split_to_an_unknown_device():
    s = data.load_breast_cancer()
    expect_clear_error(lambda: s.to("gpu"), "device", kind=ValueError)


def test_a_digest_in_capitals_or_with_spaces_is_accepted_and_right(blob):
    good = hashlib.md5(blob.read_bytes(), usedforsecurity=False).hexdigest()
    assert cifar10.verify_checksum(blob, f" {good.upper()} ") == blob


def test_numpy_float_test_size_is_accepted():
    s = data.load_digits(test_size=np.float64(0.25))
    assert len(s.y_test) == 450
