import numpy as np
import pytest

from support.fl.partition import dirichlet_partition, label_distribution
from support.fl_selection.system import SystemConfig, make_system


def small_instance(K: int, seed: int, alpha: float = 0.5):
    """A small random cell with Dirichlet label skew over 10 classes (1000 labels)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10), 100)
    parts = dirichlet_partition(y, K, alpha, rng, min_size=5)
    P = label_distribution(y, parts, 10)
    D = np.array([len(p) for p in parts], float)
    return make_system(D, rng, SystemConfig(model_bits=32.0 * 7850)), P, D


@pytest.fixture
def instance():
    return small_instance
