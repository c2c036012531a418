"""The distributed first-order oracle of RABO: masked client oracles averaged over covering clients.

Problem (FedNest form, arXiv 2512.24667 Sec. 3): min_x F(x) = f(x, y*(x)), y*(x) = argmin_y g(x, y), with
f = (1/M) sum_i f_i and g = (1/M) sum_i g_i. Each client evaluates its oracles on its submodel (masks m_x^i,
m_y^i) and returns masked vectors; the server averages every coordinate over the clients that cover it
(``support.fl.masks.coverage_average``). Estimators are written against this aggregated oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from support.fl.masks import coverage_average


class ClientOracle(Protocol):
    """One client's first-order oracles on its submodel for one round (one sampled batch).

    ``work`` counts gradient-coordinate evaluations (samples x active coordinates) spent so far.
    ``hvp``/``cross`` (exact second-order products) exist only for the FedNest-style baseline.
    Optional ``share_key`` (hashable, not None): clients with equal keys are the same deterministic function
    (same data, same submodel), so one evaluation serves them all; each is still charged its own work.
    """

    work: float

    def grad_x_f(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...
    def grad_y_f(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...
    def grad_x_g(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...
    def grad_y_g(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...


def client_masks(n_clients: int, nx: int, ny: int, mask_x: np.ndarray | None,
                 mask_y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ``(n_clients, nx)`` and ``(n_clients, ny)`` masks for one round; ``None`` means the full model.
    A mask of another shape is refused, naming both shapes (shared by every task's ``clients``)."""
    mx = np.ones((n_clients, nx), bool) if mask_x is None else np.asarray(mask_x, bool)
    my = np.ones((n_clients, ny), bool) if mask_y is None else np.asarray(mask_y, bool)
    if mx.shape != (n_clients, nx) or my.shape != (n_clients, ny):
        raise ValueError(f"masks must be ({n_clients}, {nx}) and ({n_clients}, {ny}); got {mx.shape}, {my.shape}")
    return mx, my


class Federation:
    """Aggregated oracle over M client views: each call is one communication (clients -> server) step.

    Every output is ``coverage_average`` of the clients' masked outputs (x-masks for x-gradients,
    y-masks for y-gradients). With all-ones masks this is the plain mean over clients.
    """

    def __init__(self, clients: Sequence[ClientOracle], mask_x: np.ndarray, mask_y: np.ndarray):
        self.clients = list(clients)
        self.mask_x = np.asarray(mask_x, dtype=bool)
        self.mask_y = np.asarray(mask_y, dtype=bool)
        M = len(self.clients)
        if M == 0:
            raise ValueError("a federation needs at least one client")
        if self.mask_x.shape[0] != M or self.mask_y.shape[0] != M:
            raise ValueError(f"{M} clients but masks for {self.mask_x.shape[0]} (x) and {self.mask_y.shape[0]} (y)")
        self.calls = 0
        first: dict = {}  # clients with equal share_key: evaluate the first, give its output to the others
        keys = [getattr(c, "share_key", None) for c in self.clients]
        self._src = [i if k is None else first.setdefault(k, i) for i, k in enumerate(keys)]
        self._shared = self._src != list(range(M))

    def _agg(self, name: str, masks: np.ndarray, *args) -> np.ndarray:
        self.calls += 1
        if not self._shared:
            vals = [getattr(c, name)(*args) for c in self.clients]
        else:
            vals, dw = [], {}
            for i, (c, j) in enumerate(zip(self.clients, self._src)):
                if j == i:
                    w0 = c.work
                    vals.append(getattr(c, name)(*args))
                    dw[i] = c.work - w0
                else:  # a repeat: the same output, charged the same work (exact: work counts are integers)
                    vals.append(vals[j])
                    c.work += dw[j]
        return coverage_average(np.stack(vals), masks)  # reads each client's output only where its mask is set

    def grad_x_f(self, x, y):
        return self._agg("grad_x_f", self.mask_x, x, y)

    def grad_y_f(self, x, y):
        return self._agg("grad_y_f", self.mask_y, x, y)

    def grad_x_g(self, x, y):
        return self._agg("grad_x_g", self.mask_x, x, y)

    def grad_y_g(self, x, y):
        return self._agg("grad_y_g", self.mask_y, x, y)

    def hvp(self, x, y, v):
        """Exact Hessian-vector product d^2_yy g v (second-order oracle; FedNest baseline only)."""
        return self._agg("hvp", self.mask_y, x, y, v * 1.0)

    def cross(self, x, y, v):
        """Exact mixed product d^2_xy g v (second-order oracle; FedNest baseline only)."""
        return self._agg("cross", self.mask_x, x, y, v * 1.0)

    @property
    def work(self) -> np.ndarray:
        """Gradient-coordinate work per client so far (vector of length M)."""
        return np.array([float(c.work) for c in self.clients])
