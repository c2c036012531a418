"""The GPU kernels' preconditions are refused up front, naming the problem: a head_dim the tile scan cannot split
over its 128 threads, and operands whose shape differs from the cache's (the kernels index them by the cache's
sizes, so they would read or write past the end). Checked on the CPU emulator's host arrays: no GPU needed."""

import numpy as np
import pytest

from support.cuda_emu import EmulationError, EmuModule, compiler
from support.packkv import gpu
from support.packkv.blocks import compress_layer

needs_cxx = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler")


def _layer(head_dim: int, n_heads: int = 2, n_tokens: int = 64):
    rng = np.random.default_rng(head_dim)
    k, v = (rng.normal(size=(n_heads, n_tokens, head_dim)).astype(np.float32) for _ in range(2))
    return compress_layer(k, v, 0.1, 0.2)


@pytest.mark.parametrize("head_dim", [16, 48, 80])
def test_to_device_refuses_a_head_dim_that_is_not_a_multiple_of_32(head_dim):
    with pytest.raises(ValueError, match=f"head_dim a positive multiple of 32, got {head_dim}"):
        gpu.to_device([_layer(head_dim)], "k", emulate=True)


@pytest.mark.parametrize("head_dim", [0, 16, 100])
def test_check_head_dim_names_the_value(head_dim):
    with pytest.raises(ValueError, match=f"got {head_dim}$"):
        gpu.check_head_dim(head_dim)
    assert gpu.check_head_dim(96) == 96


@pytest.mark.parametrize(("shape", "expected"), [
    ((1, 2, 3, 32), r"q must have shape \(1, 2, gq, 64\), got \(1, 2, 3, 32\)"),  # head_dim of another cache
    ((1, 3, 1, 64), r"q must have shape \(1, 2, gq, 64\), got \(1, 3, 1, 64\)"),  # KV heads
    ((2, 2, 1, 64), r"got \(2, 2, 1, 64\)"),  # sequences
    ((2, 64), r"got \(2, 64\)"),  # not split into sequences and heads
    ((1, 2, 9, 64), r"1 to 8 query heads per KV head, got 9"),
    ((1, 2, 0, 64), r"1 to 8 query heads per KV head, got 0"),
])
def test_qk_refuses_queries_whose_shape_is_not_the_caches(shape, expected):
    d = gpu.to_device([_layer(64)], "k", emulate=True)
    with pytest.raises(ValueError, match=expected):
        gpu.qk(d, np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape", [(1, 2, 3, 32), (1, 2, 3, 128), (1, 1, 3, 64), (1, 2, 3)])
def test_wv_refuses_weights_that_do_not_cover_the_caches_tokens(shape):
    d = gpu.to_device([_layer(64)], "v", emulate=True)  # 64 tokens
    with pytest.raises(ValueError, match=r"w must have shape \(1, 2, gq, 64\)"):
        gpu.wv(d, np.zeros(shape, np.float32))


@pytest.mark.parametrize(("x_shape", "dtype", "y_shape", "expected"), [
    ((4, 64, 48), np.float16, (2, 2, 1, 48), "head_dim a positive multiple of 32, got 48"),
    ((4, 64, 64), np.float32, (2, 2, 1, 64), "must be float16"),
    ((4, 64, 64), np.float16, (2, 2, 1, 32), r"q must have shape \(2, 2, gq, 64\)"),
    ((4, 64, 64), np.float16, (1, 2, 1, 64), r"q must have shape \(2, 2, gq, 64\)"),
])
def test_dense_kernels_refuse_a_bad_cache_or_query(x_shape, dtype, y_shape, expected):
    with pytest.raises(ValueError, match=expected):
        gpu.dense_qk(np.zeros(x_shape, dtype), np.zeros(y_shape, np.float32), 2, emulate=True)


def test_dense_wv_refuses_weights_over_another_number_of_tokens():
    with pytest.raises(ValueError, match=r"w must have shape \(2, 2, gq, 64\), got \(2, 2, 1, 128\)"):
        gpu.dense_wv(np.zeros((4, 64, 64), np.float16), np.zeros((2, 2, 1, 128), np.float32), 2, emulate=True)


@needs_cxx
def test_the_kernel_source_itself_refuses_to_build_for_a_head_dim_not_a_multiple_of_32():
    """The static_assert in packkv.cu: a build for HEAD_DIM=48 fails (the scan would skip packs silently)."""
    with pytest.raises(EmulationError, match="HEAD_DIM must be a multiple of 32"):
        EmuModule(path=gpu.KERNEL_FILE, options=("-DHEAD_DIM=48",))
