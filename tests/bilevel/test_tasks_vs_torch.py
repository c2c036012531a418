"""Task oracles (hyper-cleaning, hyper-representation) against torch autograd, and FD vs CG on logistic."""

import numpy as np
import pytest
import torch

from support.bilevel.cleaning import CleaningTask, WeightedLogReg, add_bias, corrupt_labels
from support.bilevel.estimators import cg_solve, fd_cross, fd_hvp
from support.bilevel.hyperrep import RepData, RepTask


@pytest.fixture(autouse=True)
def _float64_torch():
    """torch in float64 for these oracles, restored afterwards: the default dtype is global to the xdist worker,
    and other tests (ckpt_io's float32 tensors) must not see it changed."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def small_cleaning():
    rng = np.random.default_rng(0)
    n, d, C = 60, 7, 4
    X = add_bias(rng.normal(size=(n, d)))
    lab = rng.integers(0, C, n)
    Xv = add_bias(rng.normal(size=(30, d)))
    lv = rng.integers(0, C, 30)
    return WeightedLogReg(X, lab, Xv, lv, C, mu=0.05)


def torch_g(p, x, W):
    X, lab = torch.tensor(p.X), torch.tensor(p.labels)
    ce = torch.nn.functional.cross_entropy(X @ W, lab, reduction="none")
    return (torch.sigmoid(x) * ce).mean() + 0.5 * p.mu * (W * W).sum()


def test_cleaning_oracles_match_torch_autograd(small_cleaning):
    p = small_cleaning
    rng = np.random.default_rng(1)
    x, W, V = rng.normal(size=60), rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    xt, Wt = torch.tensor(x, requires_grad=True), torch.tensor(W, requires_grad=True)
    gx, gW = torch.autograd.grad(torch_g(p, xt, Wt), (xt, Wt), create_graph=True)
    assert np.allclose(p.grad_y_g(x, W), gW.detach().numpy(), atol=1e-12)
    hv, = torch.autograd.grad((gW * torch.tensor(V)).sum(), Wt, retain_graph=True)
    cr, = torch.autograd.grad((gW * torch.tensor(V)).sum(), xt)
    assert np.allclose(p.hvp(x, W, V), hv.numpy(), atol=1e-12)
    assert np.allclose(p.cross(x, W, V), cr.numpy(), atol=1e-12)
    full = CleaningTask(p, 1, None, None, np.arange(7)).clients(None, None, np.random.default_rng(0))[0]
    assert np.allclose(full.grad_x_g(x, W.ravel()), gx.detach().numpy(), atol=1e-12)
    assert np.allclose(full.hvp(x, W.ravel(), V.ravel()), hv.numpy().ravel(), atol=1e-12)
    assert np.allclose(full.cross(x, W.ravel(), V.ravel()), cr.numpy(), atol=1e-12)
    Wf = torch.tensor(W, requires_grad=True)
    f = torch.nn.functional.cross_entropy(torch.tensor(p.Xv) @ Wf, torch.tensor(p.labels_v))
    assert np.allclose(p.grad_y_f(W), torch.autograd.grad(f, Wf)[0].numpy(), atol=1e-12)


def test_pruned_cleaning_client_is_the_gradient_of_its_submodel(small_cleaning):
    p = small_cleaning
    order = np.arange(7)
    task = CleaningTask(p, 1, None, None, order)
    rows = np.array([True, False, True, True, False, False, True])
    samples = np.zeros(60, bool)
    samples[::3] = True
    my = task.row_mask(rows)[None]
    c = task.clients(samples[None], my, np.random.default_rng(0))[0]
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=60), rng.normal(size=32)
    idx = np.flatnonzero(samples)
    keep = np.append(rows, True)
    Wp = y.reshape(8, 4) * keep[:, None]  # pruned rows are zero on the submodel
    sub = WeightedLogReg(p.X[idx], p.labels[idx], p.Xv, p.labels_v, 4, p.mu)
    want = sub.grad_y_g(x[idx], Wp) * keep[:, None]
    assert np.allclose(c.grad_y_g(x, y).reshape(8, 4), want, atol=1e-12)
    gx = c.grad_x_g(x, y)
    assert np.all(gx[~samples] == 0)
    assert c.work == idx.size * keep.sum() * 4 + idx.size * keep.sum() * 4


def test_fd_hypergradient_on_logistic_is_within_1e_3_of_cg_with_analytic_hvps(small_cleaning):
    p = small_cleaning
    rng = np.random.default_rng(3)
    x, W = rng.normal(size=60), 0.3 * rng.normal(size=(8, 4))

    class O:
        def grad_y_g(self, x_, y_):
            return p.grad_y_g(x_, y_.reshape(8, 4)).ravel()

        def grad_x_g(self, x_, y_):
            from support.bilevel.cleaning import sigmoid
            from support.fl.models import cross_entropy
            s = sigmoid(x_)
            return s * (1 - s) * cross_entropy(p.X @ y_.reshape(8, 4), p.labels) / 60

    o = O()
    v = cg_solve(lambda u: fd_hvp(o, x, W.ravel(), u, 1e-4), p.grad_y_f(W).ravel(), tol=1e-12)
    h = -fd_cross(o, x, W.ravel(), v, 1e-4)
    ref = p.hypergradient_cg(x, W)
    assert np.linalg.norm(h - ref) / np.linalg.norm(ref) <= 1e-3


def test_label_corruption_flips_to_a_different_class_at_the_requested_rate():
    lab = np.repeat(np.arange(10), 200)
    noisy, flipped = corrupt_labels(lab, 0.5, 10, np.random.default_rng(0))
    assert np.all(noisy[flipped] != lab[flipped]) and np.all(noisy[~flipped] == lab[~flipped])
    assert abs(flipped.mean() - 0.5) < 0.05
    with pytest.raises(ValueError, match="corruption rate"):
        corrupt_labels(lab, 1.5, 10, np.random.default_rng(0))


def rep_task():
    rng = np.random.default_rng(4)
    d, h, C = 5, 6, 3
    sh = RepData(rng.normal(size=(40, d)), rng.integers(0, C, 40), rng.normal(size=(20, d)), rng.integers(0, C, 20))
    return RepTask([sh], d, h, C, 0.1, rng.normal(size=d * h + h)), sh


def torch_rep(task, sh, x, y, train=True, mu=True):
    d, h, C = task.d, task.h, task.C
    X, lab = (sh.X, sh.labels) if train else (sh.Xv, sh.labels_v)
    W1, b1 = x[: d * h].reshape(d, h), x[d * h:]
    phi = torch.tanh(torch.tensor(X) @ W1 + b1)
    Z = torch.cat([phi, torch.ones(len(X), 1)], 1) @ y.reshape(h + 1, C)
    loss = torch.nn.functional.cross_entropy(Z, torch.tensor(lab))
    return loss + (0.5 * task.mu * (y * y).sum() if mu else 0.0)


def assert_rep_client_matches_torch(task, sh, c, mx, my):
    """All six oracles of client view ``c`` against torch autograd on the submodel its masks ``mx``, ``my`` hold:
    absent units contribute nothing (zero their W1 columns and b1 entries), absent head rows are zero."""
    rng = np.random.default_rng(5)
    x, y, v = task.x0(), rng.normal(size=task.ny), rng.normal(size=task.ny)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    ymask = torch.tensor(my.astype(float))
    xmask = torch.tensor(mx.astype(float))
    g = torch_rep(task, sh, xt * xmask, yt * ymask)
    gx, gy = torch.autograd.grad(g, (xt, yt), create_graph=True)
    assert np.allclose(c.grad_y_g(x, y), gy.detach().numpy(), atol=1e-10)
    assert np.allclose(c.grad_x_g(x, y), gx.detach().numpy(), atol=1e-10)
    s = (gy * torch.tensor(v)).sum()
    hv, = torch.autograd.grad(s, yt, retain_graph=True)
    cr, = torch.autograd.grad(s, xt)
    assert np.allclose(c.hvp(x, y, v), hv.numpy() * my, atol=1e-10)
    assert np.allclose(c.cross(x, y, v), cr.numpy(), atol=1e-10)
    f = torch_rep(task, sh, xt * xmask, yt * ymask, train=False, mu=False)
    fx, fy = torch.autograd.grad(f, (xt, yt))
    assert np.allclose(c.grad_x_f(x, y), fx.numpy(), atol=1e-10)
    assert np.allclose(c.grad_y_f(x, y), fy.numpy(), atol=1e-10)


@pytest.mark.parametrize("units", [np.arange(6), np.array([0, 2, 5])])
def test_hyper_representation_oracles_match_torch_autograd(units):
    task, sh = rep_task()
    um = np.zeros(6, bool)
    um[units] = True
    mx, my = task.masks_from_units(um[None])
    assert_rep_client_matches_torch(task, sh, task.clients(mx, my)[0], mx[0], my[0])


@pytest.mark.parametrize("units, rows", [([0, 2, 5], range(7)), (range(6), [1, 2, 6]), ([0, 1], [1, 3]),
                                         ([], range(7)), (range(6), [])],
                         ids=["rows-without-units", "units-without-rows", "no-bias", "head-only", "no-head"])
def test_hyper_representation_oracles_follow_the_y_mask_when_it_differs_from_the_x_units(units, rows):
    """The y-mask is honoured on its own: head rows held without their unit see a zero feature (g keeps their
    ridge term), units held without their head row feed nothing; torch autograd on that submodel agrees."""
    task, sh = rep_task()
    um, rm = np.zeros(6, bool), np.zeros(7, bool)
    um[list(units)], rm[list(rows)] = True, True
    mx = task.masks_from_units(um[None])[0]
    my = np.repeat(rm, task.C)[None]
    assert_rep_client_matches_torch(task, sh, task.clients(mx, my)[0], mx[0], my[0])
