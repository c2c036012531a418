"""RABO / RAFBO (arXiv 2512.24667): distributed bilevel optimization with dual pruning for resource-limited clients.

Modules: ``federation`` (masked client oracles, coverage-aware averaging), ``estimators`` (FD-HVP, exact HVP,
F2SA), ``rabo`` (rounds, local-update variant, unpruned reference), ``quadratic`` (closed-form oracle),
``cleaning`` and ``hyperrep`` (the two tasks), ``rate`` (the 1/sqrt(C_x* Q) experiment), ``experiments``
(what the notebook calls), ``claims``.
"""
