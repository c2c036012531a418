"""Read-outs of a filtered belief through the ops: P(s_t | y), and mean/covariance of x_t.

Moment matching here is used only to read off the (exact) first two moments of a mixture.
"""

from __future__ import annotations

import numpy as np

from support.factors import gaussian as G
from support.factors import ops
from support.factors.particles import Particles
from support.factors.table import Table


def mode_posterior(belief, s_name: str, x_name: str) -> np.ndarray:
    """P(s_name | data) from a normalized belief (CLG with mode history, or particles)."""
    f = belief
    if isinstance(f, Particles):
        f = ops.project(f, "table", names=[s_name])
    elif x_name in ops.scope(f):
        f = ops.marginalize(f, [x_name])
    rest = [v for v in ops.scope(f) if v != s_name]
    if rest:
        f = ops.marginalize(f, rest)
    f, _ = ops.normalize(f)
    assert isinstance(f, Table)
    return np.exp(f.logp)


def state_moments(belief, x_name: str) -> tuple[np.ndarray, np.ndarray]:
    """E[x | data] and Cov[x | data] (exact for CLG mixtures, empirical for particles)."""
    f = belief
    if isinstance(f, Particles):
        cols = [v for v in f.values if v != x_name]
        f = ops.project(ops.marginalize(f, cols) if cols else f, "gaussian")
    else:
        others = [v for v in ops.scope(f) if v != x_name and not (isinstance(f, G.Gaussian) and v in f.cards)]
        if others:
            f = ops.marginalize(f, others)
        if isinstance(f, G.Gaussian) and f.discrete:
            f = ops.project(f, "gaussian", over=list(f.discrete))
    _, mean, cov = G.moments(f)
    return mean, cov
