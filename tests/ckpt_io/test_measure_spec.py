"""The measurement protocol (interleaving, warm-up, medians) and the one gross ratio the disk must show."""

from __future__ import annotations

import pandas as pd
import pytest

from support.ckpt_io import experiments, measure, posix


def test_rounds_interleave_with_rotation_and_warmup():
    r = measure.rounds(["a", "b", "c"], repeats=2, warmup=1)
    assert [c for _, _, c in r] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert [w for _, w, _ in r] == [True] * 3 + [False] * 6
    with pytest.raises(ValueError):
        measure.rounds(["a"], repeats=0)


def test_medians_ignore_the_warmup_round():
    df = pd.DataFrame({"case": ["a", "a", "a", "a"], "warmup": [True, False, False, False], "v": [100, 1, 2, 3]})
    assert measure.medians(df, "case", "v")["a"] == 2


def test_small_o_direct_writes_are_grossly_slower_than_large_ones(tmp_path):
    """Gross ratio only (expected ~0.01-0.03 here; asserted <= 0.5)."""
    if not posix.o_direct_support(tmp_path)[0]:
        pytest.skip("O_DIRECT unsupported here")
    df = experiments.request_size_sweep(tmp_path, (4096, 16 << 20), n_requests=256, min_total=1 << 20,
                                        max_total=16 << 20, qds=(32,), repeats=3, panels=("O_DIRECT, new file",))
    r = experiments.f1_ratios(df, "O_DIRECT, new file")
    assert r["direct_4k_over_16m"] <= 0.5
    assert list(tmp_path.iterdir()) == []


def test_disk_limit_cleans_up(tmp_path):
    d = measure.disk_limit(tmp_path, total=8 << 20, repeats=1)
    assert d["gbps"] > 0 and list(tmp_path.iterdir()) == []
