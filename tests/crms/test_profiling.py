"""Live profiling under cgroups (skipped without root) and the recorded fallback."""

import pytest

from support.cgroups import detect
from support.cgroups.profile import load_profile
from support.crms.profiling import RECORDED, profile


@pytest.mark.skipif(not detect().usable, reason="cgroups not usable here")
def test_live_profile_runs_the_workload_under_a_quota():
    p = profile(workloads=("pyloop",), cpus=(0.2, 1.0), mem_mb=(128,), reps=1, size=0.3, allow_recorded=False)
    assert p.source.startswith("live")
    lat = p.data.set_index("cpus").latency_s
    assert lat[0.2] > 2.0 * lat[1.0]  # 5x less CPU; margin for a shared VM


def test_recorded_profile_is_a_valid_profile():
    df = load_profile(RECORDED)
    assert set(df.workload) == {"matmul", "pyloop", "cache", "bnljoin"}
    assert df.groupby("workload").size().min() >= 32


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="unknown workloads"):
        profile(workloads=("nope",))
