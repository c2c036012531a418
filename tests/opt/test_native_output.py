"""Specification of support.opt.native_output: native writes to fd 1/2 go to a file, never to a full pipe."""

import os
import subprocess
import sys

from support.opt.native_output import native_output_to_file


def test_fd_writes_inside_the_block_are_captured_and_the_descriptors_restored(capfd):
    with native_output_to_file() as out:
        os.write(1, b"banner line\n")
        os.write(2, b"warning a\nwarning a\nwarning b\n")
    os.write(1, b"after\n")
    assert out.lines == ["banner line", "warning a", "warning a", "warning b"]
    assert out.summary() == "4 lines, e.g. banner line | warning a | warning b"
    assert capfd.readouterr().out == "after\n"


def test_a_burst_larger_than_a_pipe_buffer_does_not_block_on_an_undrained_stderr_pipe():
    # A Jupyter kernel's fd 2 is a pipe drained by a thread that needs the GIL; SoPlex writes while holding it.
    # Here fd 2 is a pipe nobody reads: 1 MB written straight to it would block forever.
    code = ("import os\n"
            "from support.opt.native_output import native_output_to_file\n"
            "r, w = os.pipe()\n"
            "os.dup2(w, 2)\n"
            "with native_output_to_file() as out:\n"
            "    for _ in range(20000):\n"
            "        os.write(2, b'Cannot set feasibility tolerance to small value \\n')\n"
            "print(len(out.lines))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert r.stdout.strip() == "20000"


def test_descriptors_are_restored_when_the_block_raises(capfd):
    try:
        with native_output_to_file((2,)):
            os.write(2, b"swallowed\n")
            raise RuntimeError("solver failed")
    except RuntimeError:
        pass
    os.write(2, b"visible\n")
    assert capfd.readouterr().err == "visible\n"
