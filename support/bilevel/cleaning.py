"""Data hyper-cleaning (Franceschi et al. 2017; benchopt ``oracles/datacleaning.py`` math, our implementation).

Outer x: one logit per sample of the noisy training pool (weight sigmoid(x_j)). Inner y: multinomial logistic
regression W ((d+1) x C, last row = bias) trained on the weighted noisy pool with L2 penalty mu;
g(x, y) = (1/|B|) sum_{j in B} sigmoid(x_j) CE_j(W) + mu/2 |W|^2.  Outer f(y) = mean CE on clean validation data.
Distributed reading (our reconstruction): every client reads the shared pool; its x-mask is the set of pool
samples whose weights it handles (its batches come from them) and its y-mask the feature rows of W it trains
(pruned rows are zero on its submodel). Work = samples x active y coordinates per oracle call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from support.fl.models import LogisticRegression, cross_entropy, softmax
from support.validate import ParameterError, check_int, check_range
from support.xp import blas_threads


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def add_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def corrupt_labels(labels: np.ndarray, rate: float, n_classes: int, rng: np.random.Generator):
    """Replace a ``rate`` fraction of labels by a uniformly drawn *different* class; returns (noisy, flipped)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"corruption rate must be in [0, 1]; got {rate!r}")
    noisy = np.asarray(labels).copy()
    flipped = rng.random(noisy.size) < rate
    noisy[flipped] = (noisy[flipped] + rng.integers(1, n_classes, flipped.sum())) % n_classes
    return noisy, flipped


@dataclass
class WeightedLogReg:
    """Exact oracles of the full-model hyper-cleaning problem on index sets (used by tests and evaluation)."""

    X: np.ndarray  # pool features with bias column (N x (d+1))
    labels: np.ndarray
    Xv: np.ndarray  # validation features with bias column
    labels_v: np.ndarray
    n_classes: int
    mu: float

    def __post_init__(self):
        # strong convexity of the inner problem is assumed throughout (CG, L-BFGS): a NaN mu gave NaN claims
        # silently, a negative one an indefinite-operator error that did not name it
        check_range(self.mu, "mu (inner L2 penalty, notebook parameter inner_mu)", low=0, low_open=True, error=ParameterError)

    def shape(self) -> tuple[int, int]:
        return self.X.shape[1], self.n_classes

    def _pool(self, idx):
        """(idx, X[idx]); idx None: every sample, and X itself when C-ordered (X[arange] would be a C-ordered
        copy of the same values: the same products, without copying the pool at every call)."""
        if idx is not None:
            return idx, self.X[idx]
        idx = np.arange(len(self.labels))
        return idx, (self.X if self.X.flags.c_contiguous else self.X[idx])

    def _g(self, Z, s, labels, W) -> float:
        """g from the logits Z = X_B W and the sample weights s = sigmoid(x_B)."""
        return float((s * cross_entropy(Z, labels)).mean() + 0.5 * self.mu * np.sum(W * W))

    def _grad_y_g(self, Xb, Z, s, labels, W):
        """grad_y g from the same logits and weights."""
        P = softmax(Z)
        P[np.arange(len(labels)), labels] -= 1.0
        return Xb.T @ (P * (s / len(labels))[:, None]) + self.mu * W

    def g(self, x, W, idx=None) -> float:
        idx, Xb = self._pool(idx)
        return self._g(Xb @ W, sigmoid(x[idx]), self.labels[idx], W)

    def grad_y_g(self, x, W, idx=None):
        idx, Xb = self._pool(idx)
        return self._grad_y_g(Xb, Xb @ W, sigmoid(x[idx]), self.labels[idx], W)

    def g_and_grad_y_g(self, x, W) -> tuple[float, np.ndarray]:
        """(g, grad_y g) on the whole pool, bit-equal to :meth:`g` and :meth:`grad_y_g`, from one product X W
        (L-BFGS in :meth:`inner_solution` asks for both at every point)."""
        idx, Xb = self._pool(None)
        Z, s, labels = Xb @ W, sigmoid(x[idx]), self.labels[idx]
        return self._g(Z, s, labels, W), self._grad_y_g(Xb, Z, s, labels, W)

    def f(self, W) -> float:
        return float(cross_entropy(self.Xv @ W, self.labels_v).mean())

    def grad_y_f(self, W):
        P = softmax(self.Xv @ W)
        P[np.arange(len(self.labels_v)), self.labels_v] -= 1.0
        return self.Xv.T @ P / len(self.labels_v)

    def hvp(self, x, W, V, idx=None):
        """Exact d^2_yy g [V]: per sample (diag(p) - p p') (X V)."""
        return self._hvp_operator(x, W, idx)(V)

    def _hvp_operator(self, x, W, idx=None):
        """V -> :meth:`hvp` (x, W, V, idx) with the probabilities p and weights, which do not depend on V, made
        once (a CG solve applies the same Hessian many times)."""
        idx, Xb = self._pool(idx)
        P = softmax(Xb @ W)
        w = (sigmoid(x[idx]) / len(idx))[:, None]

        def apply(V):
            U = Xb @ V
            R = P * U - P * (P * U).sum(axis=1, keepdims=True)
            return Xb.T @ (R * w) + self.mu * V
        return apply

    def cross(self, x, W, V, idx=None):
        """Exact d^2_xy g [V]: entry j = sigmoid'(x_j)/|B| (p_j - e_{l_j}) . (X_j V)."""
        idx, Xb = self._pool(idx)
        P = softmax(Xb @ W)
        P[np.arange(len(idx)), self.labels[idx]] -= 1.0
        s = sigmoid(x[idx])
        out = np.zeros_like(x)
        out[idx] = s * (1 - s) / len(idx) * (P * (Xb @ V)).sum(axis=1)
        return out

    def inner_solution(self, x, W0=None, tol: float = 1e-10) -> np.ndarray:
        """y*(x) by L-BFGS on the full pool (the exact inner problem)."""
        d1, C = self.shape()
        w0 = np.zeros(d1 * C) if W0 is None else W0.ravel()

        def fun(w):
            value, grad = self.g_and_grad_y_g(x, w.reshape(d1, C))
            return value, grad.ravel()

        with blas_threads(1):
            r = minimize(fun, w0, jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": tol, "ftol": 1e-15})
        return r.x.reshape(d1, C)

    def hypergradient_cg(self, x, W, tol: float = 1e-12) -> np.ndarray:
        """Reference hypergradient at (x, W): -d^2_xy g [H^{-1} grad_y f] with CG on exact HVPs."""
        from support.bilevel.estimators import cg_solve

        shp = W.shape
        H = self._hvp_operator(x, W)
        v = cg_solve(lambda u: H(u.reshape(shp)).ravel(), self.grad_y_f(W).ravel(), tol=tol)
        return -self.cross(x, W, v.reshape(shp))


L2_GRID = tuple(float(v) for v in np.logspace(-4, 1, 11))  # half-decade log grid 1e-4..10 (contains 1e-2)


def fit_logreg(X: np.ndarray, labels: np.ndarray, n_classes: int, lam: float, W0: np.ndarray | None = None,
               tol: float = 1e-7) -> np.ndarray:
    """Minimize mean CE + lam/2 |W|^2 (bias row penalized too) by L-BFGS; X carries the bias column, W is
    (d+1) x C. The shared :class:`support.fl.models.LogisticRegression` loss (its bias is our last row).

    The plain L2 logistic regression that the fair baselines tune; the inner problem at equal weights 1/2
    with penalty mu is this model with lam = 2 mu."""
    if not lam >= 0:
        raise ValueError(f"L2 penalty lam must be >= 0; got {lam!r}")
    d1 = X.shape[1]
    model = LogisticRegression(d1 - 1, n_classes, l2=lam)
    w0 = np.zeros(model.n_params) if W0 is None else np.asarray(W0, float).ravel()  # row-major W then b
    with blas_threads(1):
        r = minimize(model.loss_grad, w0, args=(X[:, :-1], np.asarray(labels)), jac=True, method="L-BFGS-B",
                     options={"maxiter": 2000, "gtol": tol, "ftol": 1e-15})
    return r.x.reshape(d1, n_classes)


def accuracy(X: np.ndarray, labels: np.ndarray, W: np.ndarray) -> float:
    """Fraction of rows of X whose argmax logit under W is their label (X carries the bias column)."""
    return float(((X @ W).argmax(axis=1) == np.asarray(labels)).mean())


def _check_grid(grid) -> np.ndarray:
    g = np.asarray(grid, float)
    if g.ndim != 1 or g.size == 0 or not np.all(g >= 0):
        raise ValueError(f"the L2 grid must be a non-empty 1-d sequence of penalties >= 0; got {grid!r}")
    return np.sort(g)[::-1]  # strongest first: warm starts go from smooth to sharp solutions


def select_l2(X: np.ndarray, labels: np.ndarray, Xv: np.ndarray, labels_v: np.ndarray, n_classes: int,
              grid=L2_GRID) -> dict:
    """Fit on (X, labels) for every lam in the grid and keep the one most accurate on (Xv, labels_v).

    A fair tuned baseline: the held-out set is the clean validation data the cleaned method also uses (never
    test). Ties go to the larger lam. Returns lam, W and the validation accuracy per grid value."""
    W, scores, fits = None, {}, {}
    for lam in _check_grid(grid):
        W = fit_logreg(X, labels, n_classes, lam, W0=W)
        scores[float(lam)], fits[float(lam)] = accuracy(Xv, labels_v, W), W
    best = max(scores, key=lambda k: (scores[k], k))
    return {"lam": best, "W": fits[best], "val_acc": scores}


def cv_select_l2(X: np.ndarray, labels: np.ndarray, n_classes: int, rng: np.random.Generator, grid=L2_GRID,
                 folds: int = 5) -> dict:
    """K-fold cross-validated choice of lam on one data set, then a refit on all of it.

    For a model trained on the clean validation digits alone, which have no other clean data to tune on.
    Ties go to the larger lam. Returns lam, the refitted W and the mean CV accuracy per grid value."""
    labels = np.asarray(labels)
    folds = check_int(folds, "folds", minimum=2, maximum=len(labels))
    parts = np.array_split(rng.permutation(len(labels)), folds)
    g = _check_grid(grid)
    acc = np.zeros((folds, g.size))
    for k, te in enumerate(parts):
        tr = np.setdiff1d(np.arange(len(labels)), te)
        acc[k] = list(select_l2(X[tr], labels[tr], X[te], labels[te], n_classes, g)["val_acc"].values())
    scores = {float(lam): float(a) for lam, a in zip(g, acc.mean(axis=0))}
    best = max(scores, key=lambda k: (scores[k], k))
    return {"lam": best, "W": fit_logreg(X, labels, n_classes, best), "cv_acc": scores}


def gather(X: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """X[np.ix_(idx, rows)] (the same values and layout) by row then column takes, the columns skipped when
    ``rows`` is every column: the clients' per-round batches, several times faster than np.ix_ indexing."""
    B = X.take(idx, axis=0)
    return B if np.array_equal(rows, np.arange(X.shape[1])) else B.take(rows, axis=1)


class CleaningClient:
    """One client's submodel view for one round: a batch of its pool samples and its active rows of W.
    ``blocks``: its pool and validation blocks of X if already gathered; equal ``share_key``: equal outputs."""

    def __init__(self, prob: WeightedLogReg, samples: np.ndarray, rows: np.ndarray, val_idx: np.ndarray,
                 blocks: tuple[np.ndarray | None, np.ndarray | None] | None = None):
        self.p, self.idx, self.rows, self.vidx = prob, samples, rows, val_idx
        self.d1, self.C = prob.shape()
        self.work = 0.0
        if blocks is None:
            blocks = (gather(prob.X, samples, rows) if samples.size and rows.size else None,
                      gather(prob.Xv, val_idx, rows) if rows.size else None)
        self.Xb, self.Xv = blocks
        self.share_key = (id(prob), samples.tobytes(), rows.tobytes(), val_idx.tobytes())
        self._all_rows = np.array_equal(rows, np.arange(self.d1))  # whole model: no row gather or scatter
        self._at = (np.arange(samples.size), prob.labels[samples])  # where the residual subtracts 1 (see _resid)

    def _W(self, y):
        W = y.reshape(self.d1, self.C)
        return W if self._all_rows else W[self.rows]

    def _place(self, G):
        if self._all_rows:
            return G.ravel()
        out = np.zeros((self.d1, self.C))
        out[self.rows] = G
        return out.ravel()

    def _resid(self, W, y_pen=None):
        P = softmax(self.Xb @ W)
        P[self._at] -= 1.0
        return P

    def grad_y_g(self, x, y):
        if self.Xb is None:
            return np.zeros_like(y)
        W = self._W(y)
        self.work += self.idx.size * W.size
        R = self._resid(W) * (sigmoid(x[self.idx]) / self.idx.size)[:, None]
        return self._place(self.Xb.T @ R + self.p.mu * W)

    def grad_x_g(self, x, y):
        out = np.zeros_like(x)
        if self.Xb is None:
            return out
        W = self._W(y)
        self.work += self.idx.size * W.size
        s = sigmoid(x[self.idx])
        ce = cross_entropy(self.Xb @ W, self.p.labels[self.idx])
        out[self.idx] = s * (1 - s) * ce / self.idx.size
        return out

    def grad_y_f(self, x, y):
        if self.Xv is None:
            return np.zeros_like(y)
        W = self._W(y)
        self.work += self.vidx.size * W.size
        P = softmax(self.Xv @ W)
        P[np.arange(self.vidx.size), self.p.labels_v[self.vidx]] -= 1.0
        return self._place(self.Xv.T @ P / self.vidx.size)

    def grad_x_f(self, x, y):
        return np.zeros_like(x)

    def hvp(self, x, y, v):
        if self.Xb is None:
            return np.zeros_like(y)
        W, V = self._W(y), self._W(v)
        self.work += self.idx.size * W.size
        P = softmax(self.Xb @ W)
        U = self.Xb @ V
        R = (P * U - P * (P * U).sum(axis=1, keepdims=True)) * (sigmoid(x[self.idx]) / self.idx.size)[:, None]
        return self._place(self.Xb.T @ R + self.p.mu * V)

    def cross(self, x, y, v):
        out = np.zeros_like(x)
        if self.Xb is None:
            return out
        W, V = self._W(y), self._W(v)
        self.work += self.idx.size * W.size
        R = self._resid(W)
        s = sigmoid(x[self.idx])
        out[self.idx] = s * (1 - s) / self.idx.size * (R * (self.Xb @ V)).sum(axis=1)
        return out


@dataclass
class CleaningTask:
    """Hyper-cleaning over M clients; ``feature_order`` ranks the rows of W for nested width masks."""

    prob: WeightedLogReg
    n_clients: int
    batch: int | None  # pool samples per client per round (None: all of its samples)
    val_batch: int | None
    feature_order: np.ndarray  # permutation of the d feature rows (bias row always kept)
    x_init: float = 0.0
    _blocks: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # see _block
    _blocks_of: WeightedLogReg | None = field(default=None, init=False, repr=False, compare=False)

    BLOCK_CACHE = 64  # most gathered blocks kept (the notebook's rolling masks need 34)

    def __post_init__(self):
        # a batch of 0 samples would silently train nothing; a validation batch of 0 gives NaN gradients (0/0)
        for name in ("batch", "val_batch"):
            v = getattr(self, name)
            if v is not None:
                check_int(v, name, minimum=1, what="None (all samples) or a positive integer")

    @property
    def nx(self) -> int:
        return len(self.prob.labels)

    @property
    def ny(self) -> int:
        d1, C = self.prob.shape()
        return d1 * C

    def x0(self):
        return np.full(self.nx, self.x_init)

    def y0(self):
        return np.zeros(self.ny)

    def row_mask(self, ratio_rows: np.ndarray) -> np.ndarray:
        """Flat y-mask from a row mask over the d features (bias row added)."""
        C = self.prob.n_classes
        rows = np.asarray(ratio_rows, bool)
        rows = np.append(rows, rows.any())  # the bias row goes with any kept feature row
        return np.repeat(rows, C)

    def _block(self, X: np.ndarray, which: str, idx: np.ndarray, rows: np.ndarray, keep: bool) -> np.ndarray:
        """X[idx][:, rows], gathered once per distinct (idx, rows) when ``keep``: full-batch index sets repeat
        every round (nested masks) or every M rounds (rolling), random batches never do."""
        if not keep:
            return gather(X, idx, rows)
        if self._blocks_of is not self.prob:  # prob swapped: every kept block is of the old data
            self._blocks.clear()
            self._blocks_of = self.prob
        key = (which, idx.tobytes(), rows.tobytes())
        B = self._blocks.get(key)
        if B is None:
            if len(self._blocks) >= self.BLOCK_CACHE:  # bounded
                self._blocks.clear()
            B = self._blocks[key] = gather(X, idx, rows)
            B.flags.writeable = False  # shared by every client and round that reads it
        return B

    def clients(self, mask_x, mask_y, rng):
        M = self.n_clients
        mx = np.ones((M, self.nx), bool) if mask_x is None else np.asarray(mask_x, bool)
        my = np.ones((M, self.ny), bool) if mask_y is None else np.asarray(mask_y, bool)
        d1, C = self.prob.shape()
        nv = len(self.prob.labels_v)
        out = []
        for i in range(M):
            S = np.flatnonzero(mx[i])
            rows = np.flatnonzero(my[i].reshape(d1, C).any(axis=1))
            if not my[i].any():
                S = S[:0]
            full_pool = self.batch is None or S.size <= self.batch
            if not full_pool:
                S = np.sort(rng.choice(S, self.batch, replace=False))
            full_val = self.val_batch is None or self.val_batch >= nv
            V = np.arange(nv) if full_val else np.sort(rng.choice(nv, self.val_batch, replace=False))
            blocks = (self._block(self.prob.X, "pool", S, rows, full_pool) if S.size and rows.size else None,
                      self._block(self.prob.Xv, "val", V, rows, full_val) if rows.size else None)
            out.append(CleaningClient(self.prob, S, rows, V, blocks))
        return out
