"""GPU path: kernels compile with nvcc here; on a CUDA device they reproduce the CPU signer and the KATs."""

import shutil

import pytest

from support.herosign import kat
from support.herosign import slhdsa as ours
from support.herosign.params import get_params
from support.xp import gpu_available

needs_gpu = pytest.mark.skipif(not gpu_available(), reason="no CUDA device")
needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")


@needs_nvcc
def test_kernels_compile_cubin(tmp_path):
    from support.herosign.gpu import nvcc_build

    out = nvcc_build(get_params("sha2-128f"), "90", "cubin", tmp_path)
    assert out.stat().st_size > 10_000


@needs_nvcc
def test_kernels_compile_ptx_shake(tmp_path):
    from support.herosign.gpu import nvcc_build

    out = nvcc_build(get_params("shake-128f"), "90", "ptx", tmp_path)
    assert ".entry fors_sign_fused" in out.read_text()


@needs_nvcc
@pytest.mark.slow
@pytest.mark.parametrize("name", ["sha2-192f", "sha2-256f", "shake-192f", "shake-256f"])
def test_kernels_compile_other_sets(tmp_path, name):
    from support.herosign.gpu import nvcc_build

    assert nvcc_build(get_params(name), "90", "cubin", tmp_path).exists()


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f", "sha2-192f", "sha2-256f", "shake-256f"])
@pytest.mark.parametrize("mode", ["fused", "naive"])
def test_gpu_equals_cpu(name, mode):
    from support.herosign.gpu import GpuSigner

    p = get_params(name)
    keys = [ours.keygen(p) for _ in range(3)]
    sks = [k[0] for k in keys]
    msgs = [b"a", b"bb" * 40, b""]
    rnd = [None, bytes(p.n), None]
    g = GpuSigner(p, fors_mode=mode)
    assert g.sign_internal_batch(sks, msgs, rnd) == ours.sign_internal_batch(p, sks, msgs, rnd)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f"])
def test_gpu_kat(name):
    from support.herosign.gpu import GpuSigner

    g = GpuSigner(name)
    digest = kat.rsp_digest(name, sign_batch=lambda p, sks, msgs, rnd: g.sign_internal_batch(sks, msgs, rnd))
    assert digest == kat.PUBLISHED_DIGESTS[name]
