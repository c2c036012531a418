"""environment.yml must not drift from pyproject.toml, the single source of dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_environment_yml_installs_the_project_with_the_declared_extras_and_python():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    minimum = re.search(r">=\s*([\d.]+)", pyproject["project"]["requires-python"]).group(1)
    assert python.split("=")[-1] >= minimum
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-e .[dev,lab]"]
    assert {"dev", "lab"} <= set(pyproject["project"]["optional-dependencies"])
    assert "pip" in deps


def test_pyproject_declares_the_cli_and_the_gpu_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["paper-repro"] == "support.cli:main"
    assert any(d.startswith("cupy") for d in pyproject["project"]["optional-dependencies"]["gpu"])
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("gpu") for m in markers) and any(m.startswith("slow") for m in markers)
