"""Make the oracle helpers next to these tests importable (``from factors_oracles import ...``)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PAPER_REPRO_QUIET", "1")
