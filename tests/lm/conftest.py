import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")
