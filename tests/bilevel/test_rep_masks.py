"""Hyper-representation client views honour both masks: the y-mask decides which head rows a client holds."""

import numpy as np
import pytest

from support.bilevel.federation import Federation
from support.bilevel.hyperrep import RepData, RepTask

D, H, C, MU = 3, 4, 3, 0.1


def _task(n_clients=3):
    rng = np.random.default_rng(11)
    shards = [RepData(rng.normal(size=(12, D)), rng.integers(0, C, 12), rng.normal(size=(8, D)), rng.integers(0, C, 8))
              for _ in range(n_clients)]
    return RepTask(shards, D, H, C, MU, rng.normal(size=D * H + H))


def _loss(X, labels, x, y, mu, units, rows):
    """Mean CE (+ mu/2 |held W2|^2) of the submodel: features of absent units and absent head rows are zero."""
    phi = np.tanh(X @ x[: D * H].reshape(D, H) + x[D * H:]) * units
    Z = np.hstack([phi, np.ones((len(X), 1))]) @ (y.reshape(H + 1, C) * rows[:, None])
    Z = Z - Z.max(axis=1, keepdims=True)
    ce = np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(X)), labels]
    return ce.mean() + mu / 2 * ((y.reshape(H + 1, C) * rows[:, None]) ** 2).sum()


def _fd(fun, z, eps=1e-6):
    """Central finite differences of a scalar function: the oracle, independent of the package's backprop."""
    e = np.eye(z.size) * eps
    return np.array([(fun(z + e[k]) - fun(z - e[k])) / (2 * eps) for k in range(z.size)])


def _g_y(sh, x, y, units, rows):
    return _fd(lambda w: _loss(sh.X, sh.labels, x, w, MU, units, rows), y)


def _f_x(sh, x, y, units, rows):
    return _fd(lambda w: _loss(sh.Xv, sh.labels_v, w, y, 0.0, units, rows), x)


def _point(task):
    rng = np.random.default_rng(12)
    return rng.normal(size=task.nx), rng.normal(size=task.ny)


def test_rep_client_without_a_head_contributes_nothing_to_the_aggregates():
    """Client 2 holds every unit in x but no head row in y: it is left out of the y-aggregates, and its f is
    constant (zero logits), so it adds zero to the x-aggregates it covers (plain mean over 3 clients)."""
    task = _task()
    x, y = _point(task)
    mx = np.ones((3, task.nx), bool)
    my = np.ones((3, task.ny), bool)
    my[2] = False
    fed = Federation(task.clients(mx, my), mx, my)
    full_u, full_r = np.ones(H), np.ones(H + 1)
    want_y = (_g_y(task.shards[0], x, y, full_u, full_r) + _g_y(task.shards[1], x, y, full_u, full_r)) / 2
    want_x = (_f_x(task.shards[0], x, y, full_u, full_r) + _f_x(task.shards[1], x, y, full_u, full_r)) / 3
    assert np.allclose(fed.grad_y_g(x, y), want_y, atol=1e-7)
    assert np.allclose(fed.grad_x_f(x, y), want_x, atol=1e-7)


def test_rep_client_holding_head_rows_without_units_sends_their_gradient_when_it_has_no_features():
    """Client 2 holds no unit in x but the whole head in y: its logits are the bias row alone, and its y-gradient
    (bias residuals, ridge on every row) enters the y-average over all 3 clients, not zeros."""
    task = _task()
    x, y = _point(task)
    mx = np.ones((3, task.nx), bool)
    mx[2] = False
    my = np.ones((3, task.ny), bool)
    fed = Federation(task.clients(mx, my), mx, my)
    full_u, full_r = np.ones(H), np.ones(H + 1)
    want_y = (_g_y(task.shards[0], x, y, full_u, full_r) + _g_y(task.shards[1], x, y, full_u, full_r)
              + _g_y(task.shards[2], x, y, np.zeros(H), full_r)) / 3
    want_x = (_f_x(task.shards[0], x, y, full_u, full_r) + _f_x(task.shards[1], x, y, full_u, full_r)) / 2
    assert np.allclose(fed.grad_y_g(x, y), want_y, atol=1e-7)
    assert np.allclose(fed.grad_x_f(x, y), want_x, atol=1e-7)


def test_rep_clients_refuse_a_y_mask_that_splits_a_head_row():
    task = _task(1)
    my = np.ones((1, task.ny), bool)
    my[0, C + 1] = False  # row 1 keeps 2 of its 3 classes
    with pytest.raises(ValueError, match=r"y-mask splits head rows \[1\]"):
        task.clients(None, my)


def test_rep_clients_refuse_an_x_mask_that_splits_a_hidden_unit():
    task = _task(1)
    mx = np.ones((1, task.nx), bool)
    mx[0, D * H + 2] = False  # b1 of unit 2 dropped, its W1 column kept
    with pytest.raises(ValueError, match=r"x-mask splits hidden units \[2\]"):
        task.clients(mx, None)


def test_rep_clients_refuse_masks_of_the_wrong_shape():
    task = _task(2)
    with pytest.raises(ValueError, match="masks must be"):
        task.clients(None, np.ones((1, task.ny), bool))
