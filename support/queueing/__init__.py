"""Closed-form queueing results: M/M/1, M/M/c (Erlang C), M/G/1 (Pollaczek-Khinchine), Little's law.

Rates are per unit time (lam = arrival rate, mu = service rate of one server). Every function
raises ``ValueError`` naming the problem when the queue is unstable (load >= 1) or an input is bad (negative,
nan or infinite); the array forms do not raise on unstable entries: :func:`erlang_c_array` returns nan there,
:func:`mm1_sojourn_array` and :func:`mmc_sojourn_array` return inf.

Callers: paper 06 (``mm1_sojourn``, ``mm1_sojourn_array``), paper 11 (``mmc_sojourn_array``) and the shared DES check
:mod:`support.sim.des_check` (``mm1_sojourn``, ``mmc_sojourn``). The other forms (M/M/1 wait, number and sojourn
quantile, Erlang B, M/M/c wait, M/G/1, Little's law, utilization) complete the closed-form set issue 10 asks this
core for; no paper calls them at present, the tests check each against a DES or a hand value.
"""

from support.queueing.formulas import (
    erlang_b,
    erlang_c,
    erlang_c_array,
    little_L,
    little_W,
    mg1_sojourn,
    mg1_wait,
    mm1_number,
    mm1_sojourn,
    mm1_sojourn_array,
    mm1_sojourn_quantile,
    mm1_wait,
    mmc_sojourn,
    mmc_sojourn_array,
    mmc_wait,
    utilization,
)

__all__ = ["erlang_b", "erlang_c", "erlang_c_array", "little_L", "little_W", "mg1_sojourn", "mg1_wait", "mm1_number", "mm1_sojourn",
           "mm1_sojourn_array", "mm1_sojourn_quantile", "mm1_wait", "mmc_sojourn", "mmc_sojourn_array", "mmc_wait",
           "utilization"]
