"""CSRA's rounding searches (arXiv 2512.24286 Sec. IV, step 4): the vectorised beam search and the memo shared by
the swap searches give exactly the sets of the one-set-at-a-time definitions."""

from dataclasses import replace

import numpy as np
import pytest

from support.fl_selection import csra as C
from support.fl_selection.allocation import reference_units
from support.fl_selection.generalization import GenConstraint


def _beam_one_set_at_a_time(P, D, m, gen, width):
    """The beam search's definition: every grown set valued on its own, a stable sort, the best ``width`` kept."""
    beam = [(0.0, [])]
    g = C._gen_value(gen, P, D)
    for _ in range(m):
        nxt, seen = [], set()
        for _, S in beam:
            for k in range(len(D)):
                if k in S or frozenset([*S, k]) in seen:
                    continue
                seen.add(frozenset([*S, k]))
                nxt.append((g([*S, k]), [*S, k]))
        nxt.sort(key=lambda t: t[0])
        beam = nxt[:width]
    return [S for v, S in beam if v <= gen.eps + 1e-9]


def _gen(P, D, m, delta_max):
    return GenConstraint.from_targets(1.0, 2.0, delta_max, m * float(D.mean()))


def test_generalization_value_of_a_row_is_bitwise_its_one_set_value_holds_for_every_set_size(instance):
    for seed in range(3):
        _, P, D = instance(14, seed, alpha=0.3)
        g = C._gen_value(_gen(P, D, 3, 0.2), P, D)
        rng = np.random.default_rng(seed)
        for size in range(1, 14):
            rows = np.array([rng.choice(14, size, replace=False) for _ in range(25)])
            assert g(rows).tolist() == [g(list(r)) for r in rows]


@pytest.mark.parametrize("K,m,width", [(8, 3, 8), (12, 4, 8), (16, 5, 10), (20, 3, 1)])
def test_beam_search_returns_the_sets_of_its_one_set_at_a_time_definition_holds_when_tight_or_loose(instance, K, m,
                                                                                                    width):
    for seed in range(3):
        _, P, D = instance(K, seed, alpha=0.2)
        for delta_max in (0.05, 0.2, 0.6):
            gen = _gen(P, D, m, delta_max)
            assert C._beam_min_generalization(P, D, m, gen, width) == _beam_one_set_at_a_time(P, D, m, gen, width)


def test_beam_search_keeps_tied_sets_in_growth_order_holds_when_clients_are_duplicated(instance):
    _, P, D = instance(6, 2, alpha=0.3)
    P, D = np.vstack([P, P]), np.concatenate([D, D])  # client k + 6 is client k again: many sets tie exactly
    for m, width in ((2, 3), (3, 5), (4, 8)):
        gen = GenConstraint(1.0, 2.0, 10.0)  # every set feasible: the whole final beam is returned
        want = _beam_one_set_at_a_time(P, D, m, gen, width)
        assert want and C._beam_min_generalization(P, D, m, gen, width) == want


def _round_without_memo(monkeypatch):
    """``_round`` with every swap search computing its neighbourhoods afresh (the memo dropped)."""
    search = C._constrained_swaps

    def fresh(*args, memo=None, **kwargs):
        return search(*args, **kwargs)
    with monkeypatch.context() as mp:
        mp.setattr(C, "_constrained_swaps", fresh)
        yield


def test_rounding_with_shared_swap_memo_returns_the_sets_of_fresh_searches_holds_across_consecutive_calls(
        instance, monkeypatch):
    calls = []
    for K, m, seeds, delta_maxes in ((12, 4, range(4), (0.03, 0.15, 0.4)), (20, 5, (0, 2), (0.2, 0.22, 0.24))):
        for seed in seeds:
            system, P, D = instance(K, seed, alpha=0.2 if K == 12 else 0.1)
            weights = replace(reference_units(system, m), w=0.5)
            a = np.clip(np.random.default_rng(seed).dirichlet(np.ones(K)) * m, 0, 1)
            calls += [(a, system, P, m, _gen(P, D, m, dm), weights, 3, 4) for dm in delta_maxes]
    beam = C._beam_min_generalization
    rescued = []  # the beam fallback's feasible sets, where every swap search stuck

    def counted(*args, **kwargs):
        sets = beam(*args, **kwargs)
        rescued.extend(sets)
        return sets
    monkeypatch.setattr(C, "_beam_min_generalization", counted)
    got = [C._round(*c) for c in calls]  # one after another, as the notebook's rounds call it
    for _ in _round_without_memo(monkeypatch):
        want = [C._round(*c) for c in calls]
    assert got == want
    assert rescued and any(len(S) for S in got)


def test_swap_searches_sharing_a_memo_each_return_what_they_return_alone(instance):
    system, P, D = instance(12, 1, alpha=0.2)
    m = 4
    gen = _gen(P, D, m, 0.4)  # loose enough that the searches reach feasible sets and keep swapping
    t_solo, e_solo = C.solo_round(system, m)

    def proxy(S):
        S = np.asarray(S, dtype=np.int64)
        return t_solo[S].max(-1) + e_solo[S].sum(-1)
    pool = list(range(12))
    memo: dict = {}
    found = 0
    # [3, 2, 1, 0] and [1, 0, 3, 2] are [0, 1, 2, 3] in other member orders: their neighbours come in other row
    # orders, and the sets found keep their member order
    for start in ([0, 1, 2, 3], [4, 5, 6, 7], [3, 2, 1, 0], [0, 1, 2, 4], [1, 0, 3, 2], [8, 9, 10, 11]):
        for steepest in (True, False):
            alone = C._constrained_swaps(start, gen, P, D, pool, proxy, steepest, max_steps=12)
            shared = C._constrained_swaps(start, gen, P, D, pool, proxy, steepest, max_steps=12, memo=memo)
            assert shared == alone
            found += len(alone)
    assert memo and found  # the searches did share it, and found sets
