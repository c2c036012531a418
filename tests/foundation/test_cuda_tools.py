"""One way to find nvcc and to name the CUDA device, for every GPU paper and its tests (fake PATHs and devices)."""

import os
from types import SimpleNamespace

import pytest

from support.cuda_tools import device_name, find_nvcc


def _nvcc(folder, executable: bool = True):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "nvcc"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755 if executable else 0o644)
    return str(path)


@pytest.fixture(autouse=True)
def no_cuda_home(monkeypatch):
    monkeypatch.delenv("CUDA_HOME", raising=False)


def test_find_nvcc_takes_the_first_on_path_before_any_fallback_folder(tmp_path):
    first, second = _nvcc(tmp_path / "a"), _nvcc(tmp_path / "b")
    fallback = _nvcc(tmp_path / "cuda" / "bin")
    assert find_nvcc(os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]), [tmp_path / "cuda" / "bin"]) == first
    assert find_nvcc(str(tmp_path / "b"), [tmp_path / "cuda" / "bin"]) == second
    assert find_nvcc(str(tmp_path / "empty"), [tmp_path / "cuda" / "bin"]) == fallback


def test_find_nvcc_falls_back_to_the_folders_in_order_skipping_what_is_not_an_executable_file(tmp_path):
    _nvcc(tmp_path / "plain", executable=False)
    (tmp_path / "dir" / "nvcc").mkdir(parents=True)  # a folder named nvcc
    found = _nvcc(tmp_path / "cuda")
    later = _nvcc(tmp_path / "later")
    dirs = [tmp_path / "missing", tmp_path / "plain", tmp_path / "dir", tmp_path / "cuda", tmp_path / "later"]
    assert find_nvcc("", dirs) == found
    assert find_nvcc("", dirs[-1:]) == later


def test_find_nvcc_looks_in_cuda_home_before_the_default_folders(tmp_path, monkeypatch):
    home_nvcc = _nvcc(tmp_path / "toolkit" / "bin")
    _nvcc(tmp_path / "default")
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "toolkit"))
    assert find_nvcc("", [tmp_path / "default"]) == home_nvcc
    assert find_nvcc(str(tmp_path / "default"), []) == str(tmp_path / "default" / "nvcc")  # PATH still first


def test_find_nvcc_is_none_when_there_is_none(tmp_path):
    assert find_nvcc("", []) is None
    assert find_nvcc(str(tmp_path), [tmp_path / "nothing"]) is None


def _fake_cuda(name, current: int = 0):
    props = {0: {"name": "other card"}, current: {"name": name}}
    runtime = SimpleNamespace(getDeviceProperties=lambda i: props[i])
    return SimpleNamespace(cuda=SimpleNamespace(Device=lambda: SimpleNamespace(id=current), runtime=runtime))


@pytest.mark.parametrize("raw", [b"NVIDIA H200", "NVIDIA H200"])
def test_device_name_is_text_whether_cupy_gives_bytes_or_str(raw):
    assert device_name(_fake_cuda(raw)) == "NVIDIA H200"


def test_device_name_names_the_current_device_unless_told_which():
    cp = _fake_cuda(b"NVIDIA A100", current=1)
    assert device_name(cp) == "NVIDIA A100"
    assert device_name(cp, 0) == "other card"


def test_the_cupy_stand_in_names_itself_through_the_shared_helper():
    from support.cuda_emu import cupy_stub

    assert device_name(cupy_stub) == "CUDA emulator (support.cuda_emu.cupy_stub)"
