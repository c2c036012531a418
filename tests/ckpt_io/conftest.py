"""Fixtures for the checkpoint I/O tests: a small deterministic tensor dict and a scratch directory."""

from __future__ import annotations

import pytest

from support.ckpt_io import mixes


@pytest.fixture
def small_mix():
    """Mixed sizes incl. odd byte counts, a 0-d tensor, an empty tensor and several dtypes."""
    return mixes.many_small(40, lo=2, hi=300_000, seed=3)


@pytest.fixture
def tensors(small_mix):
    torch = pytest.importorskip("torch")
    t = mixes.materialize(small_mix, seed=3)
    t["scalar_f32"] = torch.tensor(1.5)
    t["empty_i64"] = torch.empty(0, 4, dtype=torch.int64)
    t["f16"] = torch.arange(7, dtype=torch.float16).reshape(7, 1)
    t["i8"] = torch.arange(-5, 6, dtype=torch.int8)
    t["bool"] = torch.tensor([True, False, True])
    return t
