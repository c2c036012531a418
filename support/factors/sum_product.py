"""Tree sum-product (belief propagation) on the five ops: exact marginals of every variable of a
tree-structured factor graph in two sweeps (notes §1.3 "Inference engines").

factor → variable: marginalize(product(factor, incoming), scope − {v}); variable → factor: product of
the other incoming messages. Marginal = normalize(product of all messages at the variable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from support.factors import ops


@dataclass(frozen=True)
class BPResult:
    """Normalized marginal per variable, and log Z of the whole graph."""

    marginals: dict
    log_z: float


def _multiply(msgs: list):
    out = None
    for m in msgs:
        out = m if out is None else ops.product(out, m)
    return out


def sum_product(factors: Sequence, variables: Sequence[str] | None = None) -> BPResult:
    """Exact marginals on a factor graph that is a tree (raises ValueError if it has a cycle)."""
    scopes = [ops.scope(f) for f in factors]
    allv = sorted(set().union(*scopes)) if scopes else []
    variables = list(variables) if variables is not None else allv
    # bipartite adjacency: ("v", name) <-> ("f", index)
    adj: dict[tuple, list[tuple]] = {("v", v): [] for v in allv}
    for i, s in enumerate(scopes):
        adj[("f", i)] = [("v", v) for v in sorted(s)]
        for v in s:
            adj[("v", v)].append(("f", i))
    n_nodes, n_edges = len(adj), sum(len(s) for s in scopes)
    # one root per connected component; post-order via explicit DFS
    seen: set = set()
    orders: list[list[tuple[tuple, tuple | None]]] = []
    for start in [("v", v) for v in allv] + [("f", i) for i in range(len(factors))]:
        if start in seen:
            continue
        order, stack = [], [(start, None)]
        seen.add(start)
        while stack:
            node, parent = stack.pop()
            order.append((node, parent))
            for nb in adj[node]:
                if nb != parent:
                    if nb in seen:
                        raise ValueError("sum_product needs a tree: the factor graph has a cycle")
                    seen.add(nb)
                    stack.append((nb, node))
        orders.append(order)
    if n_edges != n_nodes - len(orders):
        raise ValueError("sum_product needs a tree: the factor graph has a cycle")
    msg: dict[tuple[tuple, tuple], object] = {}

    def send(src: tuple, dst: tuple):
        incoming = [msg[(nb, src)] for nb in adj[src] if nb != dst and (nb, src) in msg]
        if src[0] == "f":
            f = _multiply([factors[src[1]]] + incoming)
            drop = [v for v in ops.scope(f) if v != dst[1]]
            msg[(src, dst)] = ops.marginalize(f, drop) if drop else f
        else:
            msg[(src, dst)] = _multiply(incoming)  # None = the unit message

    def deliver(src, dst):
        send(src, dst)
        if msg[(src, dst)] is None:
            del msg[(src, dst)]

    for order in orders:
        for node, parent in reversed(order):  # leaves → root
            if parent is not None:
                deliver(node, parent)
        for node, parent in order:  # root → leaves
            for nb in adj[node]:
                if nb != parent:
                    deliver(node, nb)

    # unit messages were dropped from `msg`; lookups treat a missing message as 1
    def incoming(node):
        return [msg[(nb, node)] for nb in adj[node] if (nb, node) in msg]

    marginals, log_z = {}, 0.0
    for v in variables:
        prod = _multiply(incoming(("v", v)))
        marginals[v], lz = ops.normalize(prod)
    for order in orders:  # log Z of each component, read at its root
        root = order[0][0]
        if root[0] == "v":
            _, lz = ops.normalize(_multiply(incoming(root)))
        else:
            f = _multiply([factors[root[1]]] + incoming(root))
            _, lz = ops.normalize(f)
        log_z += lz
    return BPResult(marginals, float(log_z))
