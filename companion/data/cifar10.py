"""CIFAR-10 (Krizhevsky, 2009) for the larger profile of Chapter 5: download, verify, load.

60,000 colour images of 32x32 pixels in 10 classes (50,000 train / 10,000 test), from the
official "python version" archive. Nothing here runs at import time, and CI never calls
:func:`download_cifar10`: the default profile trains on offline MNIST digits instead.

The archive is accepted only if its MD5 equals the published checksum :data:`CIFAR10_MD5`
(a truncated or tampered download raises ``ValueError`` and is deleted). The batches inside
are Python pickles, so they are read only from an archive that passed this check.
Arguments are checked with :mod:`companion.validation` (paths are ``str``/``os.PathLike``,
checksums 32 hexadecimal digits, chunk sizes positive integers).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from companion.data.tabular import Split
from companion.validation import check_bool, check_positive_int, describe

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the data set's page
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def md5sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex MD5 digest of a file, read in chunks (the archive is 163 MB)."""
    path = _check_path(path, "path")
    chunk_size = check_positive_int(chunk_size, "chunk_size")  # 0 would read nothing
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _check_path(path, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {describe(path)}")
    return Path(path)


def _check_md5(value, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an MD5 digest (32 hex digits), got {describe(value)}")
    digest = value.strip().lower()
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{name} must be an MD5 digest (32 hex digits), got {value!r}")
    return digest


def verify_checksum(path: str | os.PathLike, expected_md5: str) -> Path:
    """Return ``path`` if its MD5 is ``expected_md5``; raise otherwise.

    ``FileNotFoundError`` if it is missing; ``ValueError`` naming both digests if it differs.
    """
    path = _check_path(path, "path")
    expected_md5 = _check_md5(expected_md5, "expected_md5")
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    got = md5sum(path)
    if got != expected_md5:
        raise ValueError(
            f"checksum mismatch for {path}: MD5 is {got}, expected {expected_md5}; "
            "the file is incomplete or not the official archive"
        )
    return path


def download_cifar10(
    root: str | os.PathLike, url: str = CIFAR10_URL, md5: str = CIFAR10_MD5
) -> Path:
    """Download the archive into ``root`` (unless a verified copy is there); return its path.

    The download goes to a temporary file that is checked and only then renamed, so a
    failed or corrupt download never leaves a file that looks complete.
    """
    root = _check_path(root, "root")
    md5 = _check_md5(md5, "md5")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"url must be an https:// address, got {url!r}")
    root.mkdir(parents=True, exist_ok=True)
    target = root / ARCHIVE_NAME
    if target.exists():
        return verify_checksum(target, md5)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=ARCHIVE_NAME, suffix=".part")
    os.close(fd)
    try:
        urllib.request.urlretrieve(url, tmp)  # noqa: S310 - fixed https URL
        verify_checksum(tmp, md5)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def extract(archive: str | os.PathLike, root: str | os.PathLike, md5: str = CIFAR10_MD5) -> Path:
    """Verify and extract the archive into ``root``; return the batches folder."""
    archive = verify_checksum(archive, md5)
    root = _check_path(root, "root")
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.12 and recent 3.10/3.11 releases
            tar.extractall(root, filter="data")  # refuses absolute paths and links out
        else:  # pragma: no cover - older Pythons; the archive's checksum was verified above
            tar.extractall(root)  # noqa: S202
    folder = root / FOLDER
    if not folder.is_dir():
        raise FileNotFoundError(f"{archive} did not contain the folder {FOLDER}/")
    return folder


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")  # noqa: S301 - archive verified by MD5
    data = np.asarray(batch[b"data"], dtype=np.uint8)  # (n, 3072), channel-major rows
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path.name}: expected data of shape (n, 3072), got {data.shape}")
    return data.reshape(-1, 3, 32, 32), np.asarray(batch[b"labels"], dtype=np.int64)


def load_cifar10(
    root: str | os.PathLike = "data", download: bool = False, md5: str = CIFAR10_MD5
) -> Split:
    """CIFAR-10 as a :class:`Split`: ``X``: (n, 3, 32, 32) float32 in [0, 1], labels 0-9.

    Looks for ``root/cifar-10-batches-py``, else the verified archive in ``root``, else
    downloads it when ``download=True`` (otherwise ``FileNotFoundError``).
    """
    root = _check_path(root, "root")
    download = check_bool(download, "download")
    md5 = _check_md5(md5, "md5")
    folder = root / FOLDER
    if not folder.is_dir():
        archive = root / ARCHIVE_NAME
        if not archive.exists():
            if not download:
                raise FileNotFoundError(
                    f"CIFAR-10 not found in {root}; call with download=True "
                    f"to fetch {CIFAR10_URL} (163 MB)"
                )
            archive = download_cifar10(root, md5=md5)
        folder = extract(archive, root, md5=md5)
    parts = [_read_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    X_test, y_test = _read_batch(folder / "test_batch")
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])

    def as_x(a):
        return torch.from_numpy(a).float().div_(255.0)

    return Split(
        as_x(X_train),
        torch.from_numpy(y_train),
        as_x(X_test),
        torch.from_numpy(y_test),
        CLASSES,
        "CIFAR-10 (Krizhevsky, 2009), 32x32 colour images, official archive",
    )
