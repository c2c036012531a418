"""Variable elimination written only against the five ops (notes §1.3 "Inference engines").

Barren-node pruning (drop conditionals of unobserved leaves, repeatedly) and a greedy min-fill
order are mandatory: without them pathfinder needs ~125 GiB (notes §1.4b).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from support.factors import ops


@dataclass(frozen=True)
class VEResult:
    """Posterior factor over the query variables, and log P(evidence)."""

    posterior: object
    log_evidence: float
    order: tuple[str, ...]
    n_factors_used: int


def prune_barren(factors: Sequence, heads: Sequence[str | None], keep: set[str]) -> list[int]:
    """Indices of factors that survive barren-node pruning.

    A factor whose head (the variable it is a conditional of) is outside ``keep`` and appears in no
    other remaining factor integrates to one and is removed; repeat until nothing changes.
    """
    alive = set(range(len(factors)))
    scopes = [ops.scope(f) for f in factors]
    count: dict[str, int] = {}
    for i in alive:
        for v in scopes[i]:
            count[v] = count.get(v, 0) + 1
    changed = True
    while changed:
        changed = False
        for i in sorted(alive):
            h = heads[i]
            if h is not None and h not in keep and count.get(h, 0) == 1:
                alive.remove(i)
                for v in scopes[i]:
                    count[v] -= 1
                changed = True
    return sorted(alive)


def min_fill_order(scopes: Sequence[frozenset[str]], eliminate: set[str],
                   sizes: Mapping[str, int] | None = None) -> list[str]:
    """Greedy elimination order: fewest fill-in edges, ties by smallest clique weight, then name."""
    adj: dict[str, set[str]] = {}
    for s in scopes:
        for v in s:
            adj.setdefault(v, set()).update(s - {v})
    sizes = sizes or {}
    todo = set(eliminate) & set(adj)
    order = []
    while todo:
        best, key = None, None
        for v in todo:
            nb = list(adj[v])
            fill = sum(1 for i in range(len(nb)) for j in range(i + 1, len(nb)) if nb[j] not in adj[nb[i]])
            w = 1
            for u in nb:
                w *= sizes.get(u, 2)
            k = (fill, w, v)
            if key is None or k < key:
                best, key = v, k
        nb = adj.pop(best)
        for u in nb:
            adj[u].discard(best)
            adj[u].update(nb - {u})
        todo.remove(best)
        order.append(best)
    return order + sorted(set(eliminate) - set(order))


def variable_elimination(factors: Sequence, query: Sequence[str], evidence: Mapping[str, object] | None = None,
                         heads: Sequence[str | None] | None = None, sizes: Mapping[str, int] | None = None,
                         order: Sequence[str] | None = None) -> VEResult:
    """P(query | evidence) by pruning, conditioning, then product+marginalize per eliminated variable.

    ``heads[i]`` names the variable factor i is a normalized conditional of (None: not prunable);
    ``sizes`` (cardinalities) only steers the min-fill tie break.
    """
    evidence = dict(evidence or {})
    query = list(query)
    heads = list(heads) if heads is not None else [None] * len(factors)
    if len(heads) != len(factors):
        raise ValueError("heads must have one entry per factor")
    allvars = set().union(*(ops.scope(f) for f in factors)) if factors else set()
    bad = [v for v in list(query) + list(evidence) if v not in allvars]
    if bad:
        raise ValueError(f"unknown query/evidence variables {bad}")
    overlap = set(query) & set(evidence)
    if overlap:
        raise ValueError(f"variables {sorted(overlap)} are both queried and observed")
    keep = set(query) | set(evidence)
    live = [factors[i] for i in prune_barren(factors, heads, keep)]
    conditioned = []
    for f in live:
        ev = {k: v for k, v in evidence.items() if k in ops.scope(f)}
        conditioned.append(ops.condition(f, ev) if ev else f)
    scopes = [ops.scope(f) for f in conditioned]
    elim = set().union(*scopes) - set(query) if scopes else set()
    if order is not None:  # a caller's order must eliminate exactly the non-query variables (pruned ones may stay)
        order = list(order)
        queried, missing = sorted(set(order) & set(query)), sorted(elim - set(order))
        if queried or missing:
            raise ValueError(f"elimination order must not contain the query variables {queried} and must contain "
                             f"every variable to eliminate; missing {missing}")
    else:
        order = min_fill_order(scopes, elim, sizes)
    pool = list(conditioned)
    for v in order:
        touching = [f for f in pool if v in ops.scope(f)]
        if not touching:
            continue
        pool = [f for f in pool if v not in ops.scope(f)]
        prod = touching[0]
        for f in touching[1:]:
            prod = ops.product(prod, f)
        pool.append(ops.marginalize(prod, [v]))
    result = pool[0]
    for f in pool[1:]:
        result = ops.product(result, f)
    posterior, logz = ops.normalize(result)
    return VEResult(posterior, logz, tuple(order), len(live))
