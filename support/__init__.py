"""paper-repro: reference reproductions of recent systems, PL, distributed-computing and crypto papers.

Each paper has a subpackage ``support/<slug>/`` with its algorithms; the shared cores are
``support.xp`` (array backend), ``support.claims``, ``support.data``, ``support.plotting``,
``support.seeding`` and the runner (``support.cli``, ``support.runner``, ``support.report``).
"""

__version__ = "0.1.0"
