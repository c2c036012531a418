"""Quiet progress output, and the shared tiny Llama importable (``from tiny_llama import tiny_llama``)."""

import os
import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
os.environ.setdefault("PAPER_REPRO_QUIET", "1")
