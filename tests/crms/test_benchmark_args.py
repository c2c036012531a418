"""benchmarks/crms.py refuses arguments it cannot run with (one line, exit 2) instead of a traceback at the end."""

import subprocess
import sys

import pytest

from support.paths import REPO_ROOT


@pytest.mark.parametrize("args", [["--max-n", "2"], ["--max-n", "1"], ["--seeds", "0"]])
def test_benchmark_refuses_max_n_below_5_and_seeds_below_1(args):
    r = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "crms.py"), *args], check=False,
                       capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert r.returncode == 2
    assert "--max-n must be >= 5 and --seeds >= 1" in r.stderr and "Traceback" not in r.stderr
