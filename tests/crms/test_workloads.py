"""The profiling workloads (run under cgroups as a script, so coverage never saw them), called in-process on tiny
sizes against hand-derived results, numpy's matrix power and a brute-force LRU; the worker's line protocol too."""

import hashlib
import io
import json

import numpy as np
import pytest

from support.crms import workloads as W


class _FixedRng:
    """A Generator stand-in whose ``integers`` returns the planted arrays in call order."""

    def __init__(self, *arrays):
        self.arrays = list(arrays)

    def integers(self, lo, hi, n):
        a = np.asarray(self.arrays.pop(0))
        assert len(a) == n  # the workload asked for as many values as its size says
        return a


def test_pyloop_sums_k_squared_mod_7():
    """k^2 mod 7 over one period k = 0..6 is 0, 1, 4, 2, 2, 4, 1 (sum 14): 700 iterations sum to 1400."""
    assert W.pyloop(0.0007, 256, None) == 1400
    assert W.pyloop(0.000003, 256, None) == 0 + 1 + 4


def test_matmul_is_a_times_b_to_the_kth_power_over_n_to_the_k():
    """int(48 * size) products (a @ b) / n with n = 320: a b^k / n^k, from numpy's matrix power."""
    for size, k in ((0.05, 2), (0.01, 1)):  # 48 * 0.01 < 1: still one product
        rng = np.random.default_rng(5)
        a, b = rng.standard_normal((320, 320)), rng.standard_normal((320, 320))
        want = (a @ np.linalg.matrix_power(b, k))[0, 0] / 320.0 ** k
        assert W.matmul(size, 256, np.random.default_rng(5)) == pytest.approx(want, rel=1e-9, abs=1e-12)


def _lru_misses(keys, cap):
    """Brute-force LRU: a list, most recent last."""
    cache, misses = [], 0
    for k in keys:
        if k in cache:
            cache.remove(k)
        else:
            misses += 1
            if len(cache) == cap:
                cache.pop(0)
        cache.append(k)
    return misses, len(cache)


@pytest.mark.parametrize("mem_mb", [48.8, 50.0, 128])
def test_cache_recomputes_exactly_the_lru_misses_of_a_capacity_sized_from_memory(mem_mb, monkeypatch):
    """Capacity = (mem_mb - 48 MiB) x 8% / 64 KiB items, at least 1: 48.8 MB -> 1, 50 -> 2, 128 -> 102 items.
    Every miss recomputes its item with 1 + 32 SHA-256 calls; the count is checked against a brute-force LRU."""
    cap = {48.8: 1, 50.0: 2, 128: 102}[mem_mb]
    keys = [3, 1, 3, 2, 1, 3, 3, 4, 1, 2, 2, 5]
    calls = []
    real = hashlib.sha256

    def counting(data=b""):
        calls.append(1)
        return real(data)

    monkeypatch.setattr(W.hashlib, "sha256", counting)
    size = len(keys) / 1200
    assert int(1200 * size) == len(keys)
    held = W.cache(size, mem_mb, _FixedRng(keys))
    misses, left = _lru_misses(keys, cap)
    assert len(calls) == 33 * misses and held == left


def test_bnljoin_probes_s_against_each_block_whose_size_follows_the_memory_budget():
    """R all equal to 7 and S = [7, 8, ...]: every block of R holds 7 once per probe, so the hits count the
    blocks, ceil(|R| / block) with block = max(4096, (mem_mb - 48) x 1% MiB / 8 bytes)."""
    n_r, n_s = 100_000, 15_000
    size = n_r / 1_000_000
    s = np.arange(7, 7 + n_s)
    for mem_mb, block in ((48, 4096), (60, 15728), (200, 199229)):
        assert max(4096, int((mem_mb - W.BASE_MB) * 0.01 * 1024 * 1024 // 8)) == block
        hits = W.bnljoin(size, mem_mb, _FixedRng(np.full(n_r, 7), s))
        assert hits == -(-n_r // block)


def test_bnljoin_counts_each_probe_key_present_in_r():
    """One block (R smaller than the minimum block): hits = how many S keys R holds (numpy isin)."""
    rng = np.random.default_rng(1)
    r, s = rng.integers(0, 50, 20_000), rng.integers(0, 80, 3_000)
    assert W.bnljoin(0.02, 200, _FixedRng(r, s)) == int(np.isin(s, r).sum())


def test_threads_is_the_quota_rounded_up_within_the_machine(monkeypatch):
    monkeypatch.setattr(W.os, "cpu_count", lambda: 4)
    assert [W._threads(c) for c in (0.15, 1.0, 1.01, 2.5, 16.0)] == [1, 1, 2, 3, 4]
    assert W._threads(1 + 1e-12) == 1  # a quota one rounding error above a whole CPU is that CPU
    monkeypatch.setattr(W.os, "cpu_count", lambda: None)
    assert W._threads(3.0) == 1


def test_worker_says_ready_then_answers_one_json_line_per_seed(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n2\n3\n"))
    W.main(["pyloop", "--cpus", "1", "--mem-mb", "128", "--size", "0.001"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"ready": True} and len(lines) == 4
    assert all(set(x) == {"latency_s", "cpu_s"} and x["latency_s"] >= 0 and x["cpu_s"] >= 0 for x in lines[1:])


def test_worker_refuses_an_unknown_workload():
    with pytest.raises(SystemExit):
        W.main(["sleep", "--cpus", "1", "--mem-mb", "128"])
