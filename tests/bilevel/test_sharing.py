"""Shared evaluation of identical clients and reuse of gathered data blocks: a speed-up that changes nothing.

Clients with equal ``share_key`` are evaluated once per oracle call, and the hyper-cleaning task gathers each
full-batch block of X once; iterates and per-client work must stay bit-for-bit those of separate evaluation.
"""

import numpy as np
import pytest

from support.bilevel.cleaning import CleaningClient, CleaningTask, WeightedLogReg, add_bias
from support.bilevel.estimators import InnerConfig, make_estimator
from support.bilevel.federation import Federation
from support.bilevel.rabo import RunConfig, run_rabo
from support.fl.masks import client_masks

N, D, C, NV = 48, 9, 3, 20
BUDGETS = (1.0, 1.0, 0.5, 0.5, 0.25)


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    return WeightedLogReg(add_bias(rng.normal(size=(N, D))), rng.integers(0, C, N), add_bias(rng.normal(size=(NV, D))),
                          rng.integers(0, C, NV), C, mu=0.05)


class _Unshared(CleaningTask):
    """The task as written before the speed-up: every client gathers its own blocks and is evaluated alone."""

    def clients(self, mask_x, mask_y, rng):
        out = []
        for c in super().clients(mask_x, mask_y, rng):
            fresh = CleaningClient(self.prob, c.idx, c.rows, c.vidx)  # blocks=None: gathered here
            fresh.share_key = None
            out.append(fresh)
        return out


def _schedule(task, kind):
    M = len(BUDGETS)

    def sched(q):
        if kind == "full-x":  # every client holds every sample but fewer rows: equal samples, unequal rows
            mx, rows = np.ones((M, N), bool), client_masks(D, BUDGETS, "nested", q)
        else:
            mx, rows = client_masks(N, BUDGETS, kind, q), client_masks(D, BUDGETS, kind, q)
        return mx, np.stack([task.row_mask(r) for r in rows])
    return sched


def _run(task_cls, kind, est, local, batch=None):
    task = task_cls(_problem(), len(BUDGETS), batch, None, np.arange(D))
    kw = {"lam0": 10.0} if est == "f2sa" else {}
    res = run_rabo(task, make_estimator(est, InnerConfig(2, 0.5, 2, 0.5, 1e-3), **kw), _schedule(task, kind),
                   RunConfig(10, 50.0, local_steps=local), np.random.default_rng(3))
    return res, task


@pytest.mark.parametrize("kind, est, local", [("nested", "fd_hvp", 0), ("rolling", "fd_hvp", 0),
                                              ("full-x", "fd_hvp", 0), ("nested", "exact_hvp", 0),
                                              ("nested", "f2sa", 0), ("nested", "fd_hvp", 1),
                                              ("full-x", "fd_hvp", 1)])
def test_cleaning_runs_with_shared_clients_equal_separate_evaluation_bit_for_bit(kind, est, local):
    shared, _ = _run(CleaningTask, kind, est, local)
    alone, _ = _run(_Unshared, kind, est, local)
    assert np.array_equal(np.stack(shared.xs), np.stack(alone.xs))
    assert np.array_equal(shared.y, alone.y)
    assert np.array_equal(shared.work, alone.work) and shared.work.min() > 0


def test_random_batches_equal_separate_evaluation_and_are_not_kept():
    shared, task = _run(CleaningTask, "nested", "fd_hvp", 0, batch=10)
    alone, _ = _run(_Unshared, "nested", "fd_hvp", 0, batch=10)
    assert np.array_equal(shared.x, alone.x) and np.array_equal(shared.work, alone.work)
    assert not any(k[0] == "pool" for k in task._blocks)  # a fresh random batch every round: never reused


class _Counting:
    """A client whose grad_y_g returns a fixed vector, counting its evaluations; charged 3 per call."""

    def __init__(self, key, value):
        self.share_key, self.value, self.work, self.evals = key, np.asarray(value, float), 0.0, 0

    def grad_y_g(self, x, y):
        self.evals += 1
        self.work += 3.0
        return self.value


def test_federation_evaluates_one_client_per_share_key_and_charges_every_client():
    cl = [_Counting("a", [1.0, 2.0]), _Counting("a", [1.0, 2.0]), _Counting("b", [4.0, 8.0]), _Counting(None, [7.0, 5.0])]
    fed = Federation(cl, np.ones((4, 1), bool), np.ones((4, 2), bool))
    for _ in range(2):
        out = fed.grad_y_g(np.zeros(1), np.zeros(2))
    assert out.tolist() == [13.0 / 4, 17.0 / 4]
    assert [c.evals for c in cl] == [2, 0, 2, 2]
    assert fed.work.tolist() == [6.0, 6.0, 6.0, 6.0]


class _Plain:
    """Mask-independent oracles of f = |x - 2|^2 / 2, g = |y - 1|^2 / 2 (the same function on every client)."""

    def __init__(self, key):
        self.share_key, self.work = key, 0.0

    def grad_y_g(self, x, y):
        self.work += 1.0
        return y - 1.0

    def grad_x_g(self, x, y):
        self.work += 1.0
        return np.zeros_like(x)

    def grad_y_f(self, x, y):
        self.work += 1.0
        return np.zeros_like(y)

    def grad_x_f(self, x, y):
        self.work += 1.0
        return x - 2.0


class _PlainTask:
    n_clients, nx, ny = 2, 3, 2

    def __init__(self, key):
        self.key = key

    def x0(self):
        return np.zeros(3)

    def y0(self):
        return np.zeros(2)

    def clients(self, mask_x, mask_y, rng):
        return [_Plain(self.key), _Plain(self.key)]


def test_local_updates_share_a_client_run_only_under_equal_masks():
    """Equal keys but different x-masks: each client's local step moves only its own coordinates."""
    mx = np.array([[1, 1, 0], [0, 1, 1]], bool)
    sched = lambda q: (mx, np.ones((2, 2), bool))
    est = make_estimator("fd_hvp", InnerConfig(1, 0.5, 1, 0.5, 1e-3))
    shared = run_rabo(_PlainTask("same"), est, sched, RunConfig(3, 0.5, local_steps=1), np.random.default_rng(0))
    alone = run_rabo(_PlainTask(None), est, sched, RunConfig(3, 0.5, local_steps=1), np.random.default_rng(0))
    assert np.array_equal(shared.x, alone.x) and shared.x[0] != 0 and shared.x[2] != 0
    assert np.array_equal(shared.work, alone.work)


def test_full_batch_blocks_are_gathered_once_read_only_and_the_cache_is_bounded():
    p = _problem()
    task = CleaningTask(p, len(BUDGETS), None, None, np.arange(D))
    sched = _schedule(task, "nested")
    a, b = task.clients(*sched(0), None), task.clients(*sched(1), None)
    assert all(ca.Xb is cb.Xb and ca.Xv is cb.Xv for ca, cb in zip(a, b))
    assert not a[0].Xb.flags.writeable
    assert np.array_equal(a[2].Xb, p.X[np.ix_(a[2].idx, a[2].rows)])
    task.BLOCK_CACHE = 4
    rng = np.random.default_rng(0)
    for q in range(6):
        mx = client_masks(N, BUDGETS, "random", rng=rng)
        task.clients(mx, np.stack([task.row_mask(r) for r in client_masks(D, BUDGETS, "random", rng=rng)]), None)
        assert len(task._blocks) <= 4


def test_a_task_given_new_data_gathers_its_blocks_from_the_new_data():
    task = CleaningTask(_problem(), len(BUDGETS), None, None, np.arange(D))
    sched = _schedule(task, "nested")
    task.clients(*sched(0), None)
    task.prob = q = _problem(seed=1)  # same shapes, other values: the kept blocks must not be served
    c = task.clients(*sched(0), None)[2]
    assert np.array_equal(c.Xb, q.X[np.ix_(c.idx, c.rows)]) and np.array_equal(c.Xv, q.Xv[np.ix_(c.vidx, c.rows)])
