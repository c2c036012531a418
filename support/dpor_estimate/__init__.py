"""Paper 04: state-space estimation for DPOR-based model checkers (arXiv 2512.23996).

Modules: ``dsl`` (programs), ``benchmarks`` (big0/big1, fib_bench, lastzero, ...), ``trust`` (optimal
DPOR tree), ``order`` (event-addition order), ``knuth`` (Algorithm T), ``stochastic_enumeration``
(Algorithm S), ``experiments`` (the notebook's tables, the cost estimate among them) and ``claims``.
"""
