"""support.progress: headless kernels (the runner's PAPER_REPRO_QUIET=1) and kernels without ipywidgets get
tqdm's text bars and no "IProgress not found" warning; JupyterLab with ipywidgets gets widget bars."""

import os
import subprocess
import sys

import pytest
import tqdm.auto
import tqdm.std

from support import progress as P

# A stand-in for an ipykernel (what tqdm.autonotebook looks for) where ipywidgets cannot be imported; every
# warning is an error, so "IProgress not found" fails the script.
_KERNEL_WITHOUT_IPYWIDGETS = """
import sys, warnings
import ipykernel.zmqshell
sys.modules["ipywidgets"] = None
warnings.simplefilter("error")
from support import progress as P
assert P.bar_class() is __import__("tqdm.std").std.tqdm, P.bar_class()
list(P.progress(range(3), desc="loop"))
bar = P.progress_bar(3, desc="manual")
bar.update(3)
bar.close()
"""


@pytest.mark.parametrize("quiet", ["1", ""], ids=["headless", "interactive"])
def test_a_kernel_without_ipywidgets_gets_text_bars_and_no_iprogress_warning(quiet):
    from support.paths import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("PAPER_REPRO_QUIET", "PYTHONWARNINGS")}
    r = subprocess.run([sys.executable, "-c", _KERNEL_WITHOUT_IPYWIDGETS], cwd=REPO_ROOT, capture_output=True,
                       text=True, timeout=120, check=False, env={**env, "PAPER_REPRO_QUIET": quiet})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "IProgress" not in r.stderr
    assert ("loop" in r.stderr) == (quiet == "")  # quiet: no bar at all; else a text bar


@pytest.mark.parametrize("widgets", [True, False], ids=["ipywidgets", "no-ipywidgets"])
def test_a_headless_run_uses_text_bars_even_with_ipywidgets(monkeypatch, widgets):
    """The runner's kernels are quiet: a widget bar there would save widget JSON into the report, not text."""
    monkeypatch.setenv("PAPER_REPRO_QUIET", "1")
    monkeypatch.setattr(P.importlib.util, "find_spec", lambda name: object() if widgets else None)
    assert P.bar_class() is tqdm.std.tqdm
    assert P.progress(range(2)).disable and P.progress_bar(2).disable


def test_an_interactive_session_with_ipywidgets_gets_tqdm_auto(monkeypatch):
    """tqdm.auto picks widget bars in JupyterLab and text bars in a terminal."""
    monkeypatch.delenv("PAPER_REPRO_QUIET", raising=False)
    monkeypatch.setattr(P.importlib.util, "find_spec", lambda name: object() if name == "ipywidgets" else None)
    assert P.bar_class() is tqdm.auto.tqdm


def test_an_interactive_session_without_ipywidgets_gets_text_bars(monkeypatch):
    monkeypatch.setenv("PAPER_REPRO_QUIET", "0")
    monkeypatch.setattr(P.importlib.util, "find_spec", lambda name: None)
    assert P.bar_class() is tqdm.std.tqdm
