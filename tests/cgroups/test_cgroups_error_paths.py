"""support.cgroups on a fake hierarchy (plain directories under tmp_path, so these run without cgroups): the memory
limit files of both versions, the refusals of :func:`limited`, the clean-up of leftover processes and of groups that
will not go, and a child that overruns its timeout."""

import sys

import pytest

from support.cgroups import CgroupError, core, limited, run_limited


@pytest.fixture
def no_cleanup(monkeypatch):
    """Plain directories with files in them cannot be rmdir'ed as cgroup directories can: skip the removal."""
    monkeypatch.setattr(core, "_cleanup", lambda dirs, parents: [])


def test_memory_limit_is_written_to_memory_max_on_v2_and_to_the_memory_hierarchy_on_v1(tmp_path, no_cleanup):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "mem").mkdir()
    with limited(mem_bytes=64 << 20, name="g", info=core.CgroupInfo(2, tmp_path / "cpu", None, True)) as g:
        assert (g.dirs[0] / "memory.max").read_text() == str(64 << 20) and len(g.dirs) == 1
    with limited(cpus=0.5, mem_bytes=64 << 20, name="h",
                 info=core.CgroupInfo(1, tmp_path / "cpu", tmp_path / "mem", True)) as g:
        assert g.dirs == [tmp_path / "cpu" / "h", tmp_path / "mem" / "h"]
        assert (tmp_path / "mem" / "h" / "memory.limit_in_bytes").read_text() == str(64 << 20)
        assert not (tmp_path / "cpu" / "h" / "memory.limit_in_bytes").exists()


def test_limited_refuses_unusable_cgroups_a_tiny_memory_limit_and_v1_without_a_memory_hierarchy(tmp_path,
                                                                                                 monkeypatch):
    with pytest.raises(CgroupError, match="not usable here: read-only"), \
            limited(cpus=0.5, info=core.CgroupInfo(1, tmp_path, tmp_path, False, "read-only")):
        pass
    with pytest.raises(ValueError, match="mem_bytes must be >= 4 MiB"), \
            limited(mem_bytes=(4 << 20) - 1, info=core.CgroupInfo(2, tmp_path, tmp_path, True)):
        pass
    seen, removed = [], []
    monkeypatch.setattr(core, "_cleanup", lambda dirs, parents: removed.append(list(dirs)) or [])
    with pytest.raises(CgroupError, match="no v1 memory hierarchy"), \
            limited(mem_bytes=8 << 20, name="g", info=core.CgroupInfo(1, tmp_path, None, True)) as g:
        seen.append(g)
    assert not seen and removed == [[tmp_path / "g"]]  # the CPU group made before the refusal is removed again


def test_a_failed_write_names_the_value_and_the_file(tmp_path):
    with pytest.raises(CgroupError, match=r"cannot write 7 to .*missing/cgroup.procs"):
        core._write(tmp_path / "missing" / "cgroup.procs", 7)


def test_add_pid_writes_the_pid_into_every_hierarchy_of_the_group(tmp_path):
    dirs = [tmp_path / "cpu", tmp_path / "mem"]
    for d in dirs:
        d.mkdir()
    core.Group("g", 1, dirs).add_pid(4242)
    assert [(d / "cgroup.procs").read_text() for d in dirs] == ["4242", "4242"]


def test_cpu_stat_of_a_group_without_the_file_is_empty_and_otherwise_parsed(tmp_path):
    g = core.Group("g", 2, [tmp_path])
    assert g.cpu_stat() == {}
    (tmp_path / "cpu.stat").write_text("nr_periods 10\nnr_throttled 3\n\n")
    assert g.cpu_stat() == {"nr_periods": 10, "nr_throttled": 3}


def test_cleanup_moves_leftover_processes_to_the_parent_and_reports_a_group_that_will_not_go(tmp_path, monkeypatch):
    monkeypatch.setattr(core.time, "sleep", lambda s: None)
    parent, gone, stuck = tmp_path / "p", tmp_path / "p" / "gone", tmp_path / "p" / "stuck"
    stuck.mkdir(parents=True)
    (stuck / "cgroup.procs").write_text("11\n12\n")
    (parent / "cgroup.procs").write_text("")
    moved = []
    real_write = type(parent).write_text

    def spy(self, data, *a, **k):
        if self == parent / "cgroup.procs":
            moved.append(data)
        return real_write(self, data, *a, **k)

    monkeypatch.setattr(type(parent), "write_text", spy)
    errors = core._cleanup([gone, stuck], [parent, parent])  # gone: never made, skipped
    assert moved == ["11", "12"]
    assert len(errors) == 1 and errors[0].startswith(f"{stuck}: ")  # a directory with a file in it stays
    (stuck / "cgroup.procs").unlink()
    assert core._cleanup([stuck], [parent]) == [] and not stuck.exists()


def test_a_child_that_overruns_its_timeout_is_killed_and_named(tmp_path, no_cleanup):
    info = core.CgroupInfo(2, tmp_path, None, True)
    with pytest.raises(CgroupError, match=r"exceeded 0.3 s under cpus=0.5"):
        run_limited([sys.executable, "-c", "import time; time.sleep(30)"], cpus=0.5, timeout=0.3, info=info)


def test_the_body_error_survives_a_failed_removal_and_carries_it_as_a_note(tmp_path, monkeypatch):
    """A failing body must not be masked by the clean-up: the caller sees its own error, with the removal
    failure attached; without a body error the removal failure is the error."""
    monkeypatch.setattr(core, "_cleanup", lambda dirs, parents: [f"{dirs[0]}: Device or resource busy"])
    info = core.CgroupInfo(2, tmp_path, None, True)
    with pytest.raises(RuntimeError, match="the body failed") as caught, limited(cpus=0.5, name="g", info=info):
        raise RuntimeError("the body failed")
    assert caught.value.__notes__ == [f"also, could not remove cgroup(s): {tmp_path / 'g'}: Device or resource busy"]
    with pytest.raises(CgroupError, match="could not remove cgroup"), limited(cpus=0.5, name="h", info=info):
        pass
