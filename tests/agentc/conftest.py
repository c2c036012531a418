"""Make the shared tiny Llama of the LM tests importable here (``from tiny_llama import tiny_llama``)."""

import sys
from pathlib import Path

_LM_TESTS = str(Path(__file__).resolve().parents[1] / "lm")
if _LM_TESTS not in sys.path:
    sys.path.insert(0, _LM_TESTS)
