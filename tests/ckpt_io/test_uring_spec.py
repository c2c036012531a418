"""Our raw io_uring binding against the kernel's POSIX calls: same bytes, short transfers resubmitted,
errors and end of file reported, O_DIRECT from page-aligned memory."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.ckpt_io import posix, uring
from support.ckpt_io.uring import Request

pytestmark = pytest.mark.skipif(not uring.availability()[0], reason=uring.availability()[1])


def _data(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)


def test_writes_equal_os_pwrite_byte_for_byte(tmp_path):
    a = _data(3_000_001)
    fd = os.open(tmp_path / "u", os.O_CREAT | os.O_RDWR, 0o644)
    reqs = [Request(o, [(posix.address(a) + o, min(65536, a.size - o))], a) for o in range(0, a.size, 65536)]
    with uring.Ring(64) as r:
        assert r.run("write", fd, reversed(reqs), queue_depth=32) == a.size
        r.fsync(fd)
    os.close(fd)
    with open(tmp_path / "p", "wb") as f:
        os.pwrite(f.fileno(), a, 0)
    assert (tmp_path / "u").read_bytes() == (tmp_path / "p").read_bytes()


@pytest.mark.parametrize("op", ["write", "read"])
def test_short_transfers_are_resubmitted(tmp_path, op):
    a = _data(1_000_000, 1)
    (tmp_path / "f").write_bytes(a.tobytes() if op == "read" else b"")
    b = np.zeros_like(a)
    buf = b if op == "read" else a
    fd = os.open(tmp_path / "f", os.O_RDWR)
    segs = [(posix.address(buf), 400_000), (posix.address(buf) + 400_000, 600_000)]  # a writev/readv
    done = []
    with uring.Ring(8, clamp=77_777) as r:  # each SQE moves at most 77,777 bytes: every request comes back short
        n = r.run(op, fd, [Request(0, segs, buf, on_done=lambda: done.append(1))], queue_depth=4)
    os.close(fd)
    assert n == a.size and done == [1]
    if op == "read":
        np.testing.assert_array_equal(a, b)
    else:
        assert (tmp_path / "f").read_bytes() == a.tobytes()


def test_read_past_end_of_file_raises_eof(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 1000)
    b = np.zeros(4096, np.uint8)
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    with uring.Ring(4) as r, pytest.raises(EOFError, match="end of file"):
        r.run("read", fd, [Request(0, [(posix.address(b), 4096)], b)])
    os.close(fd)


_EOF_AT_DEPTH = r"""
import os, sys
import numpy as np
from support.ckpt_io import posix, uring
from support.ckpt_io.uring import Request
b = np.zeros(8 * 4096, np.uint8)
fd = os.open(sys.argv[1], os.O_RDONLY)
reqs = [Request(o, [(posix.address(b) + o, 4096)], b) for o in range(0, b.size, 4096)]
try:
    uring.Ring(8).run("read", fd, reqs, queue_depth=8)
    print("NO ERROR")
except EOFError as e:
    print("EOFError:", e)
"""


def test_end_of_file_with_many_reads_in_flight_raises_instead_of_hanging(tmp_path):
    """8 reads in flight on a 4 KiB file: the 7 past the end complete with 0 in the same batch as the
    first; the run must raise EOFError (as pread does) and not wait for completions it already reaped."""
    f = tmp_path / "f"
    f.write_bytes(b"x" * 4096)
    fd = os.open(f, os.O_RDONLY)
    assert os.pread(fd, 4096, 0) == b"x" * 4096 and os.pread(fd, 4096, 4096) == b""  # the POSIX oracle
    os.close(fd)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        r = subprocess.run([sys.executable, "-c", _EOF_AT_DEPTH, str(f)], check=False, capture_output=True,
                           text=True, timeout=60, cwd=root, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("Ring.run hung after an end-of-file completion with other completions in the same batch")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("EOFError:") and "end of file" in r.stdout, r.stdout


def test_o_direct_needs_aligned_memory_and_reports_einval(tmp_path):
    ok, why = posix.o_direct_support(tmp_path)
    if not ok:
        pytest.skip(why)
    buf = posix.aligned_buffer(1 << 20)
    buf[:] = 7
    fd = os.open(tmp_path / "d", os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o644)
    with uring.Ring(8) as r:
        r.run("write", fd, [Request(i * 262144, [(posix.address(buf) + i * 262144, 262144)], buf) for i in range(4)], 4)
        with pytest.raises(OSError) as e:
            r.run("write", fd, [Request(0, [(posix.address(buf) + 1, 4096)], buf)])
        assert e.value.errno == errno.EINVAL
    os.close(fd)
    assert (tmp_path / "d").read_bytes() == bytes([7]) * (1 << 20)


def test_availability_reports_the_sysctl():
    ok, why = uring.availability()
    assert ok and "io_uring" in why
    assert uring.io_uring_disabled_sysctl() in (None, 0, 1, 2)
