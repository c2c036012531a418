"""The speed-ups of the TruSt tree keep it the same tree: children kept across probes, reachability as vectors (§4-§5).

``memo_children`` keeps a node's children from its second expansion on; ``_co_closures`` computes what each write of a
coherence order reaches as per-thread po-suffixes. Both are checked against plain recomputation on every node.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from dpor_oracles import random_program

from support.dpor_estimate import trust
from support.dpor_estimate.benchmarks import make
from support.dpor_estimate.dsl import Program, Read, StepLimitError, Write
from support.dpor_estimate.knuth import knuth_probe
from support.dpor_estimate.stochastic_enumeration import se_trial
from support.dpor_estimate.trust import R, W, children, memo_children, next_event, root

SPECS = ["lastzero(3)", "casrot(4)", "cinc(2)", "lockinc(3)", "co_2_2w(2)", "fib_bench(1)", "inc(3)", "peterson",
         "szymanski(1)"]


def _programs():
    return [make(s) for s in SPECS] + [random_program(random.Random(seed), locks=seed % 2 == 0, assumes=seed % 3 == 0)
                                       for seed in range(12)]


def _nodes(program: Program):
    """Every node of the exhaustive TruSt tree of ``program``."""
    stack, out = [root(program)], []
    while stack:
        g = stack.pop()
        out.append(g)
        stack.extend(children(program, g) or ())
    return out


def _reach_oracle(g) -> dict:
    """What each event reaches along po ∪ rf ∪ co ∪ fr (fr to the immediate co-successor), by plain search."""
    succ = {}
    for t, evs in enumerate(g.ev):
        for i, e in enumerate(evs):
            s = {(t, i + 1)} if i + 1 < len(evs) else set()
            lst = g.co.get(e[1], ())
            if e[0] == W:
                j = lst.index((t, i)) + 1
                s |= {(rt, ri) for rt, revs in enumerate(g.ev) for ri, r in enumerate(revs)
                      if r[0] == R and r[1] == e[1] and r[3] == (t, i)}
            else:
                j = 0 if e[3] is None else lst.index(e[3]) + 1
            if j < len(lst):
                s.add(lst[j])
            succ[(t, i)] = s
    out = {}
    for src in succ:
        seen, stack = {src}, [src]
        while stack:
            for y in succ[stack.pop()]:
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        out[src] = seen
    return out


def _as_vector(g, events: set) -> list[int]:
    """A po-closed event set as the first index reached per thread (the thread's length: none)."""
    return [min([i for (t, i) in events if t == tt], default=len(evs)) for tt, evs in enumerate(g.ev)]


def test_co_closures_are_what_each_write_reaches_on_every_node():
    checked = 0
    for p in _programs():
        for g in _nodes(p):
            reach = _reach_oracle(g)
            for lst in g.co.values():
                got = [(q, list(vis)) for q, vis in trust._co_closures(g, lst, 0, trust._readers(g))]
                assert got == [(q, _as_vector(g, reach[lst[q]])) for q in range(len(lst) - 1, -1, -1)], (p.name, g.ev)
                checked += 1
    assert checked > 1000


def test_read_and_write_cycle_checks_match_a_plain_search_on_every_node():
    reads = writes = 0
    for p in _programs():
        for g in _nodes(p):
            nxt = next_event(p, g)
            if nxt is None:
                continue
            t, op, is_wpart = nxt
            idx = len(g.ev[t])
            lst = g.co.get(op.loc, ())
            reach = _reach_oracle(g)
            popred = {(t, idx - 1)} if idx else set()
            if not is_wpart and isinstance(op, trust._READ_OPS):
                if idx:
                    k = trust._reaching_prefix(g, lst, (t, idx - 1))
                    assert [j < k for j in range(len(lst))] == [bool(reach[w] & popred) for w in lst]
                    reads += 1
                continue
            assert trust._cyclic_placements(g, (t, idx), op.loc, 0) == _cyclic_oracle(g, (t, idx), op.loc)
            writes += 1
    assert reads > 300 and writes > 300


def _cyclic_oracle(g, a, loc) -> set[int]:
    """Positions p where co[p] reaches a's po-predecessor, co[p - 1] or a read of co[p - 1], by plain search."""
    reach = _reach_oracle(g)
    lst = g.co.get(loc, ())
    t, idx = a
    out = set()
    for q in range(len(lst)):
        wp = lst[q - 1] if q else None
        targets = ({(t, idx - 1)} if idx else set()) | ({wp} if wp else set()) | {
            (rt, ri) for rt, revs in enumerate(g.ev) for ri, r in enumerate(revs) if r[0] == R and r[1] == loc and r[3] == wp}
        if reach[lst[q]] & targets:
            out.add(q)
    return out


def _w(loc, val, stamp):
    return (W, loc, val, None, stamp, Write(loc, val), False)


def _r(loc, val, rf, stamp):
    return (R, loc, val, rf, stamp, Read(loc), False)


@pytest.mark.parametrize(("ev", "co"), [
    # co[1] = (0, 0) reaches (1, 1), a read of co[0] = (2, 0): through y and back by po
    (((_w("x", 1, 0), _w("y", 1, 1)), (_r("y", 1, (0, 1), 2), _r("x", 2, (2, 0), 3)), (_w("x", 2, 4),), ()),
     {"x": ((2, 0), (0, 0)), "y": ((0, 1),)}),
    # co[1] = (0, 0) reaches co[0] = (1, 1) itself
    (((_w("x", 1, 0), _w("y", 1, 1)), (_r("y", 1, (0, 1), 2), _w("x", 2, 3)), ()),
     {"x": ((1, 1), (0, 0)), "y": ((0, 1),)}),
])
def test_write_cycle_check_sees_the_previous_write_and_its_reads_in_any_graph(ev, co):
    # cyclic graphs never occur in the tree, but the check is a plain reachability question, kept exact anyway
    g = trust.Graph(ev, co, 5)
    a = (len(ev) - 1, 0)
    assert trust._cyclic_placements(g, a, "x", 0) == _cyclic_oracle(g, a, "x") == {1}


@pytest.mark.parametrize("spec", ["lastzero(4)", "casrot(5)", "lockinc(3)", "szymanski(1)", "fib_bench(2)"])
def test_probes_sharing_a_start_draw_and_score_as_probes_from_fresh_roots(spec):
    p = make(spec)
    fresh, shared = np.random.default_rng(7), np.random.default_rng(7)
    start = root(p)
    for _ in range(60):
        assert knuth_probe(p, shared, start=start) == knuth_probe(p, fresh)
    for _ in range(30):
        assert se_trial(p, 3, shared, start=start) == se_trial(p, 3, fresh)
    assert fresh.integers(1 << 30) == shared.integers(1 << 30)  # the same draws, in the same number
    assert start.memo is not None and len(start.memo) == 3  # the root's children were kept


def _one_thread(*ops):
    def t():
        for op in ops:
            _ = yield op  # not ``yield from ops``: a tuple iterator cannot take the values sent back
    return t


def test_kept_children_are_not_served_under_a_smaller_step_bound():
    p = Program("w2", [_one_thread(Write("x", 1), Write("x", 2))], {"x": 0})
    start = root(p)
    for _ in range(3):  # every node of this one-path tree is expanded twice, so all of them keep their children
        knuth_probe(p, np.random.default_rng(0), 1000, start)
    with pytest.raises(StepLimitError):
        knuth_probe(p, np.random.default_rng(0), 1, start)


def test_kept_children_are_not_served_to_another_program():
    a = Program("a", [_one_thread(Write("x", 1)), _one_thread(Write("x", 2))], {"x": 0})
    b = Program("b", [_one_thread(Read("x")), _one_thread(Write("x", 2))], {"x": 0})
    start = root(a)
    for _ in range(3):
        knuth_probe(a, np.random.default_rng(0), start=start)
    assert [g.ev for g in memo_children(b, start)] == [g.ev for g in children(b, root(b))]


@pytest.mark.parametrize("budget", [1, 3])
def test_timed_estimation_runs_expand_every_node_each_trial_visits(monkeypatch, budget):
    """The seconds of ``estimate_runs`` are an estimator's cost: each trial expands every node it visits, as a
    probe in a model checker does, and no expansion is served from an earlier trial's kept children."""
    from support.dpor_estimate import experiments as ex

    calls = []
    real = trust.children
    monkeypatch.setattr(trust, "children", lambda *a, **k: calls.append(1) or real(*a, **k))
    rs = ex.estimate_runs("lastzero(4)", "program", budget, trials=40, runs=2, seed=3)
    assert len(calls) == int(rs.work.sum()) > 0
    calls.clear()  # shared nodes (untimed uses): the same estimates from fewer expansions
    shared = ex.estimate_runs("lastzero(4)", "program", budget, trials=40, runs=2, seed=3, share_nodes=True)
    assert np.array_equal(shared.classes, rs.classes) and np.array_equal(shared.nodes, rs.nodes)
    assert np.array_equal(shared.work, rs.work) and 0 < len(calls) < int(rs.work.sum())
