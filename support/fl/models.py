"""Classifiers over flat parameter vectors for FL: multinomial logistic regression and a one-hidden-layer MLP.

Loss = mean softmax cross-entropy + (l2/2)||w||^2, with the analytic gradient. Arrays may be NumPy or
CuPy (the module of the inputs is used), so the same code runs on ``support.xp``'s backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np


def array_module(a) -> ModuleType:
    """NumPy for NumPy arrays, CuPy for CuPy arrays (like ``cupy.get_array_module``)."""
    if isinstance(a, np.ndarray) or np.isscalar(a):
        return np
    mod = type(a).__module__.split(".")[0]
    if mod == "cupy":
        import cupy  # type: ignore[import-not-found]

        return cupy
    return np


def _shifted_exp(logits):
    """``(xp, z, exp(z), row sums of exp(z))`` for ``z`` = logits minus each row's maximum.

    The one overflow-safe softmax kernel: :func:`softmax`, :func:`cross_entropy` and :func:`softmax_xent` share it."""
    xp = array_module(logits)
    z = logits - logits.max(axis=1, keepdims=True)
    ez = xp.exp(z)
    return xp, z, ez, ez.sum(axis=1, keepdims=True)


def _xent_rows(xp, z, s, y):
    """Per-row cross-entropy ``log sum exp(z) - z[y]`` from the shifted logits and their exp row sums."""
    return xp.log(s[:, 0]) - z[xp.arange(z.shape[0]), y]


def softmax(logits):
    """Row-wise softmax probabilities of a 2-D array of logits (shifted by each row's maximum, so no overflow).

    For callers that need the probabilities themselves (paper 10's Hessian-vector products), not a loss."""
    _, _, ez, s = _shifted_exp(logits)
    return ez / s


def cross_entropy(logits, y):
    """Per-sample softmax cross-entropy of integer labels ``y`` (one value per row, not averaged).

    Paper 10 weights the samples individually; :func:`softmax_xent` gives the mean and its gradient."""
    xp, z, _, s = _shifted_exp(logits)
    return _xent_rows(xp, z, s, y)


def softmax_xent(logits, y):
    """Mean cross-entropy of integer labels ``y`` and d(loss)/d(logits) (already divided by n)."""
    xp, z, ez, s = _shifted_exp(logits)
    n = logits.shape[0]
    rows = xp.arange(n)
    loss = float(_xent_rows(xp, z, s, y).mean())
    d = ez / s
    d[rows, y] -= 1.0
    return loss, d / n


def _check_xy(X, y, n_features: int, n_classes: int):
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must have shape (n, {n_features}); got {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},); got {tuple(y.shape)}")
    if X.shape[0] == 0:
        raise ValueError("X is empty")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= n_classes:  # a label of -1 would index the last class's logit and pass unnoticed
        raise ValueError(f"labels must lie in 0..{n_classes - 1}; got {lo}..{hi}")


class _Classifier:
    """Loss, prediction and accuracy shared by every model that defines ``logits`` and ``loss_grad``."""

    def loss(self, w, X, y) -> float:
        return self.loss_grad(w, X, y)[0]

    def predict(self, w, X):
        return self.logits(w, X).argmax(axis=1)

    def accuracy(self, w, X, y) -> float:
        return float((self.predict(w, X) == y).mean())


@dataclass(frozen=True)
class LogisticRegression(_Classifier):
    """Multinomial logistic regression; w = [W (d x C) row-major, b (C)]."""

    n_features: int
    n_classes: int
    l2: float = 0.0

    def __post_init__(self):
        if self.n_features < 1 or self.n_classes < 2 or self.l2 < 0:
            raise ValueError(f"invalid model shape/penalty: d={self.n_features}, C={self.n_classes}, l2={self.l2}")

    @property
    def n_params(self) -> int:
        return (self.n_features + 1) * self.n_classes

    def init(self, rng: np.random.Generator, xp: ModuleType = np, scale: float = 0.0):
        """Zero weights (the convex problem needs no symmetry breaking) plus optional N(0, scale^2) noise."""
        w = rng.normal(0.0, scale, self.n_params) if scale > 0 else np.zeros(self.n_params)
        return xp.asarray(w)

    def _unpack(self, w):
        d, C = self.n_features, self.n_classes
        return w[: d * C].reshape(d, C), w[d * C:]

    def logits(self, w, X):
        W, b = self._unpack(w)
        return X @ W + b

    def loss_grad(self, w, X, y):
        """(loss, gradient) at ``w`` on the batch (X, y)."""
        _check_xy(X, y, self.n_features, self.n_classes)
        xp = array_module(w)
        W, b = self._unpack(w)
        loss, d = softmax_xent(X @ W + b, y)
        g = xp.concatenate([(X.T @ d).ravel(), d.sum(axis=0)])
        if self.l2:
            loss += 0.5 * self.l2 * float(w @ w)
            g = g + self.l2 * w
        return loss, g


@dataclass(frozen=True)
class MLP(_Classifier):
    """One hidden layer with ReLU; w = [W1 (d x h), b1 (h), W2 (h x C), b2 (C)]."""

    n_features: int
    n_hidden: int
    n_classes: int
    l2: float = 0.0

    def __post_init__(self):
        if self.n_features < 1 or self.n_hidden < 1 or self.n_classes < 2 or self.l2 < 0:
            raise ValueError(f"invalid MLP shape/penalty: d={self.n_features}, h={self.n_hidden}, "
                             f"C={self.n_classes}, l2={self.l2}")

    @property
    def n_params(self) -> int:
        d, h, C = self.n_features, self.n_hidden, self.n_classes
        return d * h + h + h * C + C

    def init(self, rng: np.random.Generator, xp: ModuleType = np, scale: float | None = None):
        """He-normal first layer, Glorot-normal second layer, zero biases."""
        d, h, C = self.n_features, self.n_hidden, self.n_classes
        s1 = np.sqrt(2.0 / d) if scale is None else scale
        s2 = np.sqrt(2.0 / (h + C)) if scale is None else scale
        w = np.concatenate([rng.normal(0, s1, d * h), np.zeros(h), rng.normal(0, s2, h * C), np.zeros(C)])
        return xp.asarray(w)

    def _unpack(self, w):
        d, h, C = self.n_features, self.n_hidden, self.n_classes
        i = 0
        W1 = w[i:i + d * h].reshape(d, h); i += d * h
        b1 = w[i:i + h]; i += h
        W2 = w[i:i + h * C].reshape(h, C); i += h * C
        return W1, b1, W2, w[i:i + C]

    def logits(self, w, X):
        W1, b1, W2, b2 = self._unpack(w)
        xp = array_module(w)
        return xp.maximum(X @ W1 + b1, 0.0) @ W2 + b2

    def loss_grad(self, w, X, y):
        """(loss, gradient) at ``w`` on the batch (X, y), by backpropagation."""
        _check_xy(X, y, self.n_features, self.n_classes)
        xp = array_module(w)
        W1, b1, W2, b2 = self._unpack(w)
        pre = X @ W1 + b1
        H = xp.maximum(pre, 0.0)
        loss, d = softmax_xent(H @ W2 + b2, y)
        dH = (d @ W2.T) * (pre > 0)
        g = xp.concatenate([(X.T @ dH).ravel(), dH.sum(axis=0), (H.T @ d).ravel(), d.sum(axis=0)])
        if self.l2:
            loss += 0.5 * self.l2 * float(w @ w)
            g = g + self.l2 * w
        return loss, g


Model = LogisticRegression | MLP


def make_model(kind: str, n_features: int, n_classes: int, n_hidden: int = 64, l2: float = 0.0) -> Model:
    """``kind`` = ``logreg`` or ``mlp``."""
    if kind == "logreg":
        return LogisticRegression(n_features, n_classes, l2)
    if kind == "mlp":
        return MLP(n_features, n_hidden, n_classes, l2)
    raise ValueError(f"unknown model kind {kind!r}; expected 'logreg' or 'mlp'")
