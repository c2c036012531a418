"""Hyper-representation (FedNest ``main_hr.py`` task): outer x = feature layer of an MLP, inner y = linear head.

Features phi = tanh(X W1 + b1) with x = [W1 (d x h), b1 (h)]; head y = W2 ((h+1) x C, last row = bias).
g_i(x, y) = mean CE on client i's training shard + mu/2 |W2|^2 (strongly convex in y);
f_i(x, y) = mean CE on client i's validation shard. Width pruning keeps a nested (or rolling) set of hidden
units: the x-mask holds their columns of W1 and entries of b1, the y-mask their rows of W2 plus the bias row.
A client's submodel is what its two masks hold: absent units give zero features, absent head rows zero weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.bilevel.federation import client_masks
from support.fl.masks import unit_mask_to_params
from support.fl.models import cross_entropy, softmax


@dataclass
class RepData:
    """One client's training and validation shards."""

    X: np.ndarray
    labels: np.ndarray
    Xv: np.ndarray
    labels_v: np.ndarray


class RepClient:
    """Client view on a submodel of hidden units ``units`` (held in x; other units are absent: zero features) and
    head rows ``rows`` (held in y, sorted, row h = bias; other rows are absent: zero weights). ``rows=None``: the
    units' rows plus the bias row (none when no unit is held), the submodel of :meth:`RepTask.masks_from_units`."""

    def __init__(self, data: RepData, units: np.ndarray, d: int, h: int, C: int, mu: float,
                 rows: np.ndarray | None = None):
        self.D, self.u, self.d, self.h, self.C, self.mu = data, units, d, h, C, mu
        if rows is None:
            rows = np.append(units, h) if units.size else units[:0]
        self.rows = np.asarray(rows, int)  # rows of W2 held, incl. the bias row h when held
        upos = {int(u): k for k, u in enumerate(units)}
        rpos = {int(r): k for k, r in enumerate(self.rows)}
        # column of [phi, 0, 1] that feeds each held row: its unit's feature, zero (unit absent), or 1 (bias row)
        self._fcols = np.array([upos.get(int(r), units.size) if r < h else units.size + 1 for r in self.rows], int)
        # row of [W2 held rows; 0] that each held unit feeds: its head row, or zero (head row absent)
        self._hrows = np.array([rpos.get(int(u), self.rows.size) for u in units], int)
        self.work = 0.0
        self._feats: dict = {}  # id(X) -> (X, x bytes, phi, [phi, 1]): see _feat

    def _x(self, x):
        W1 = x[: self.d * self.h].reshape(self.d, self.h)[:, self.u]
        return W1, x[self.d * self.h:][self.u]

    def _y(self, y):
        return y.reshape(self.h + 1, self.C)[self.rows]

    def _feat(self, X, x):
        """phi = tanh(X W1 + b1) on the client's units and [phi, 1], kept per data block for the last x (bit-equal
        x): x is fixed through a round's oracle calls (Sec. 4 estimators), so they are computed once a round."""
        key = x.tobytes()
        hit = self._feats.get(id(X))
        if hit is not None and hit[0] is X and hit[1] == key:
            return hit[2], hit[3]
        W1, b1 = self._x(x)
        phi = np.tanh(X @ W1 + b1)
        cols = np.hstack([phi, np.zeros((X.shape[0], 1)), np.ones((X.shape[0], 1))])
        Phi1 = np.ascontiguousarray(cols[:, self._fcols])  # C order, so full submodels match bit for bit
        phi.flags.writeable = Phi1.flags.writeable = False  # served again to later calls
        self._feats[id(X)] = (X, key, phi, Phi1)
        return phi, Phi1

    def _px(self, dW1, db1):
        out = np.zeros(self.d * self.h + self.h)
        W = out[: self.d * self.h].reshape(self.d, self.h)
        W[:, self.u] = dW1
        out[self.d * self.h:][self.u] = db1
        return out

    def _head(self, W2):
        """The held head rows (|rows| x C) -> the rows the held units feed (|units| x C; zero where absent)."""
        return np.vstack([W2, np.zeros((1, self.C))])[self._hrows]

    def _py(self, G):
        out = np.zeros((self.h + 1, self.C))
        out[self.rows] = G
        return out.ravel()

    def _count(self, n):
        self.work += n * (self.d * self.u.size + self.rows.size * self.C)

    def _resid(self, Phi1, W2, labels):
        P = softmax(Phi1 @ W2)
        P[np.arange(len(labels)), labels] -= 1.0
        return P / len(labels)

    def _gy(self, X, labels, x, y, reg):
        if self.rows.size == 0:
            return np.zeros_like(y)
        self._count(len(labels))
        _, Phi1 = self._feat(X, x)
        W2 = self._y(y)
        return self._py(Phi1.T @ self._resid(Phi1, W2, labels) + reg * W2)

    def _gx(self, X, labels, x, y):
        if self.u.size == 0 or self.rows.size == 0:
            return np.zeros_like(x)
        self._count(len(labels))
        phi, Phi1 = self._feat(X, x)
        W2 = self._y(y)
        dphi = self._resid(Phi1, W2, labels) @ self._head(W2).T
        dA = dphi * (1 - phi ** 2)
        return self._px(X.T @ dA, dA.sum(axis=0))

    def grad_y_g(self, x, y):
        return self._gy(self.D.X, self.D.labels, x, y, self.mu)

    def grad_y_f(self, x, y):
        return self._gy(self.D.Xv, self.D.labels_v, x, y, 0.0)

    def grad_x_g(self, x, y):
        return self._gx(self.D.X, self.D.labels, x, y)

    def grad_x_f(self, x, y):
        return self._gx(self.D.Xv, self.D.labels_v, x, y)

    def hvp(self, x, y, v):
        if self.rows.size == 0:
            return np.zeros_like(y)
        self._count(len(self.D.labels))
        _, Phi1 = self._feat(self.D.X, x)
        W2, V = self._y(y), self._y(v)
        P = softmax(Phi1 @ W2)
        U = Phi1 @ V
        R = (P * U - P * (P * U).sum(axis=1, keepdims=True)) / len(self.D.labels)
        return self._py(Phi1.T @ R + self.mu * V)

    def cross(self, x, y, v):
        """d/dx <V, grad_y g(x, y)> by backpropagation through the features (exact second-order oracle)."""
        if self.u.size == 0 or self.rows.size == 0:
            return np.zeros_like(x)
        self._count(len(self.D.labels))
        X, labels = self.D.X, self.D.labels
        phi, Phi1 = self._feat(X, x)
        W2, V = self._y(y), self._y(v)
        n = len(labels)
        P = softmax(Phi1 @ W2)
        U = Phi1 @ V
        R = P * U - P * (P * U).sum(axis=1, keepdims=True)
        Res = P.copy()
        Res[np.arange(n), labels] -= 1.0
        dphi = (Res @ self._head(V).T + R @ self._head(W2).T) / n
        dA = dphi * (1 - phi ** 2)
        return self._px(X.T @ dA, dA.sum(axis=0))


@dataclass
class RepTask:
    """Hyper-representation over M clients with fixed shards (full batch per round)."""

    shards: list[RepData]
    d: int
    h: int
    C: int
    mu: float
    x_init: np.ndarray

    @property
    def n_clients(self) -> int:
        return len(self.shards)

    @property
    def nx(self) -> int:
        return self.d * self.h + self.h

    @property
    def ny(self) -> int:
        return (self.h + 1) * self.C

    def x0(self):
        return self.x_init.copy()

    def y0(self):
        return np.zeros(self.ny)

    def masks_from_units(self, unit_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M x h) hidden-unit masks -> x-masks over [W1, b1] and y-masks over W2 (bias row always kept)."""
        um = np.asarray(unit_masks, bool)
        mx = np.stack([unit_mask_to_params(m, [((self.d, self.h), 1), ((self.h,), 0)]) for m in um])
        my = np.stack([np.concatenate([unit_mask_to_params(m, [((self.h, self.C), 0)]),
                                       np.full(self.C, m.any())]) for m in um])
        return mx, my

    def clients(self, mask_x, mask_y, rng=None):
        """Client views on the submodels their masks hold (``None``: the full model): units held in x (a W1 column
        with its b1 entry), head rows held in y (whole rows of W2). A mask splitting a unit or a row is refused."""
        M = self.n_clients
        mx, my = client_masks(M, self.nx, self.ny, mask_x, mask_y)
        out = []
        for i in range(M):
            b1 = mx[i][self.d * self.h:]
            split = np.flatnonzero((mx[i][: self.d * self.h].reshape(self.d, self.h) != b1).any(axis=0))
            if split.size:
                raise ValueError(f"client {i}: the x-mask splits hidden units {split.tolist()}; RepTask prunes whole "
                                 "units (a column of W1 with its entry of b1)")
            Y = my[i].reshape(self.h + 1, self.C)
            split = np.flatnonzero(Y.any(axis=1) != Y.all(axis=1))
            if split.size:
                raise ValueError(f"client {i}: the y-mask splits head rows {split.tolist()}; RepTask prunes whole "
                                 f"rows of W2 (all {self.C} classes; row {self.h} is the bias)")
            out.append(RepClient(self.shards[i], np.flatnonzero(b1), self.d, self.h, self.C, self.mu,
                                 rows=np.flatnonzero(Y[:, 0])))
        return out

    def evaluate(self, x, y, X, labels) -> dict:
        W1 = x[: self.d * self.h].reshape(self.d, self.h)
        phi = np.tanh(X @ W1 + x[self.d * self.h:])
        Z = np.hstack([phi, np.ones((len(X), 1))]) @ y.reshape(self.h + 1, self.C)
        return {"loss": float(cross_entropy(Z, labels).mean()), "acc": float((Z.argmax(1) == labels).mean())}
