"""Discrete-event check of an allocation: simulate every container and compare with the M/M/1 formula.

Each app's Poisson stream is routed to its n_i containers uniformly at random (so each container sees
Poisson arrivals at lam_i/n_i) and each container is a FIFO server with exponential service of mean
d_i(c_i, m_i). Containers are independent, so each is simulated by the Lindley recursion (or simpy).
"""

from __future__ import annotations

import numpy as np

from support.crms.problem import Allocation, Problem
from support.queueing import mm1_sojourn
from support.sim import Streams, lindley, poisson_split, simulate_fifo
from support.validate import check_choice


def simulate_allocation(p: Problem, a: Allocation, jobs_per_app: int, seed: int, method: str = "lindley"):
    """Per-app simulated and analytic mean sojourn (s), utilization per container, and the relative error.

    ``method``: "lindley" (the recursion) or "simpy" (the event simulation); anything else is refused."""
    check_choice(method, "method", ("lindley", "simpy"))
    st = Streams(seed)
    out = []
    d = p.d(a.c, a.m)
    for i, app in enumerate(p.apps):
        rng = st[f"app{i}"]
        t = np.cumsum(rng.exponential(1 / app.lam, jobs_per_app))
        sims = []
        for sub in poisson_split(t, int(a.n[i]), rng):
            if sub.size == 0:
                continue
            ia = np.diff(sub, prepend=0.0)
            sv = rng.exponential(d[i], sub.size)
            x = lindley(ia, sv) if method == "lindley" else simulate_fifo(ia, sv)
            sims.append(x[x.size // 20:])  # drop the first 5% of each container as warm-up
        sim = np.concatenate(sims)
        rho = app.lam * d[i] / a.n[i]
        ana = mm1_sojourn(app.lam / a.n[i], 1 / d[i])
        out.append({"app": app.name, "rho": rho, "analytic_s": ana, "simulated_s": float(sim.mean()),
                    "jobs": int(sim.size)})
    for r in out:
        r["rel_err"] = abs(r["simulated_s"] - r["analytic_s"]) / r["analytic_s"]
    return out
