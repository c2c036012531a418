"""The FedAvg loop (McMahan et al. 2017): per round, select clients, run local SGD, aggregate weighted by data.

Client selection is a callback ``select(ctx) -> client indices`` that sees a :class:`RoundContext`
(round number, global parameters, a lazy per-client loss, the last reported losses, an RNG), so random,
Power-of-Choice, Oort-style or optimization-based selectors plug in unchanged. Aggregation is also a
callback (default: data-size weighted average), which masked/submodel aggregation can replace.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from support.fl.models import Model
from support.validate import check_int


@dataclass(frozen=True)
class FedConfig:
    """Hyper-parameters of FedAvg (local SGD with mini-batches; lr decays geometrically per round)."""

    rounds: int = 50
    local_epochs: int = 1
    batch_size: int = 32
    lr: float = 0.1
    lr_decay: float = 1.0
    eval_every: int = 1
    target_accuracy: float | None = None  # stop once the test accuracy reaches it
    stop_at_target: bool = False

    def __post_init__(self):
        for name in ("rounds", "local_epochs", "batch_size", "eval_every"):
            check_int(getattr(self, name), name, minimum=1)
        if not (math.isfinite(self.lr) and self.lr > 0) or not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr must be finite and > 0 and lr_decay in (0, 1]; got lr={self.lr}, "
                             f"lr_decay={self.lr_decay}")


@dataclass
class ClientData:
    """The training shards: features/labels on the compute backend and one index array per client."""

    X: object
    y: object
    parts: list[np.ndarray]

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(p) for p in self.parts], dtype=np.int64)

    def client(self, k: int):
        from support.fl.models import array_module

        xp = array_module(self.X)
        idx = self.parts[k] if xp is np else xp.asarray(self.parts[k])
        return self.X[idx], self.y[idx]


@dataclass
class RoundContext:
    """What a selector sees at the start of round ``t``."""

    t: int
    params: object
    model: Model
    data: ClientData
    last_loss: np.ndarray  # last loss each client reported when it trained (nan = never selected)
    rng: np.random.Generator

    def client_loss(self, k: int) -> float:
        """Loss of the current global model on client k's data (costs one forward pass)."""
        X, y = self.data.client(k)
        return float(self.model.loss(self.params, X, y))


Selector = Callable[[RoundContext], Sequence[int]]
Aggregator = Callable[[object, list[object], np.ndarray, Sequence[int]], object]


@dataclass
class FedResult:
    """Final parameters and one metrics row per round (selected clients, test accuracy and loss)."""

    params: object
    history: list[dict] = field(default_factory=list)
    rounds_to_target: int | None = None

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.history)


def local_sgd(model: Model, w, X, y, epochs: int, batch_size: int, lr: float, rng: np.random.Generator):
    """Plain mini-batch SGD from ``w`` on one client's data; returns (new w, mean training loss seen)."""
    from support.fl.models import array_module

    xp = array_module(X)
    xp_w = w.copy()
    n = int(X.shape[0])
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        if xp is not np:
            order = xp.asarray(order)
        for s in range(0, n, batch_size):
            b = order[s:s + batch_size]
            loss, g = model.loss_grad(xp_w, X[b], y[b])
            xp_w = xp_w - lr * g
            losses.append(loss)
    return xp_w, float(np.mean(losses))


def weighted_average(w_global, locals_: list[object], weights: np.ndarray, selected: Sequence[int]):
    """FedAvg aggregation: average of the local models weighted by ``weights`` (normalised here)."""
    a = np.asarray(weights, float)
    a = a / a.sum()
    out = locals_[0] * a[0]
    for wk, ak in zip(locals_[1:], a[1:]):
        out = out + wk * ak
    return out


def fedavg(model: Model, data: ClientData, config: FedConfig, select: Selector, rng: np.random.Generator,
           X_test=None, y_test=None, w0=None, aggregate: Aggregator = weighted_average,
           on_round: Callable[[dict], None] | None = None,
           client_rng: Callable[[int, int], np.random.Generator] | None = None) -> FedResult:
    """Run FedAvg for ``config.rounds`` rounds; returns the final model and per-round metrics.

    Each round: ``S = select(ctx)``; each k in S runs ``local_epochs`` of SGD from the global model;
    the new global model is ``aggregate(w, [w_k], D_k, S)``. Test accuracy/loss are logged every
    ``eval_every`` rounds; ``rounds_to_target`` is the first round whose accuracy reaches the target.
    ``client_rng(t, k)``, when given, is the generator of client k's local SGD in round t (common random
    numbers across selectors); by default local SGD draws from the shared ``rng``, as selection does.
    """
    K = len(data.parts)
    if K == 0:
        raise ValueError("no clients")
    w = model.init(rng, _xp_of(data.X)) if w0 is None else w0
    last = np.full(K, np.nan)
    res = FedResult(w)
    lr = config.lr
    for t in range(config.rounds):
        ctx = RoundContext(t, w, model, data, last, rng)
        S = [int(k) for k in select(ctx)]
        if not S:
            raise ValueError(f"round {t}: the selector returned no clients")
        if len(set(S)) != len(S) or min(S) < 0 or max(S) >= K:
            raise ValueError(f"round {t}: invalid selection {S} for {K} clients")
        locals_, train_losses = [], []
        for k in S:
            Xk, yk = data.client(k)
            rng_k = rng if client_rng is None else client_rng(t, k)
            wk, lk = local_sgd(model, w, Xk, yk, config.local_epochs, config.batch_size, lr, rng_k)
            locals_.append(wk)
            train_losses.append(lk)
            last[k] = lk
        sizes = data.sizes[S].astype(float)
        w = aggregate(w, locals_, sizes, S)
        lr *= config.lr_decay
        row = {"round": t + 1, "selected": S, "n_selected": len(S), "samples": int(sizes.sum()),
               "train_loss": float(np.average(train_losses, weights=sizes))}
        if X_test is not None and ((t + 1) % config.eval_every == 0 or t + 1 == config.rounds):
            row["test_loss"] = float(model.loss(w, X_test, y_test))
            row["test_acc"] = model.accuracy(w, X_test, y_test)
            if (config.target_accuracy is not None and res.rounds_to_target is None
                    and row["test_acc"] >= config.target_accuracy):
                res.rounds_to_target = t + 1
        res.history.append(row)
        if on_round is not None:
            on_round(row)
        if config.stop_at_target and res.rounds_to_target is not None:
            break
    res.params = w
    return res


def _xp_of(a) -> ModuleType:
    from support.fl.models import array_module

    return array_module(a)


def make_client_data(X, y, parts: list[np.ndarray], xp: ModuleType = np) -> ClientData:
    """Move the training arrays to the backend ``xp`` and wrap them with the partition."""
    if any(len(p) == 0 for p in parts):
        raise ValueError("every client needs at least one sample")
    return ClientData(xp.asarray(X), xp.asarray(y), [np.asarray(p, np.int64) for p in parts])
