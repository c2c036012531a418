"""Fair no-cleaning baselines: L2 chosen on clean validation data (or by CV), checked against sklearn."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from support.bilevel.cleaning import (
    WeightedLogReg,
    add_bias,
    corrupt_labels,
    cv_select_l2,
    fit_logreg,
    select_l2,
)

GRID = (1.0, 0.1, 0.01, 0.001)


@pytest.fixture(scope="module")
def small():
    """sklearn digits, 16 pixels (scaled to [0, 1]) + bias column; 300 training, 200 validation digits."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))[:500]
    X = add_bias(X[idx][:, ::4] / 16.0)
    return X[:300], y[idx][:300], X[300:], y[idx][300:]


def sklearn_fit(X, y, lam):
    """Our objective mean CE + lam/2 |W|^2 is sklearn's C sum CE + 1/2 |W|^2 with C = 1/(n lam); the bias is a
    feature column (fit_intercept=False), so it is penalized in both."""
    m = LogisticRegression(C=1.0 / (len(y) * lam), fit_intercept=False, tol=1e-12, max_iter=20000)
    return m.fit(X, y)


def test_fit_logreg_equals_sklearn_logistic_regression_with_c_one_over_n_lam(small):
    X, y, _, _ = small
    for lam in (1.0, 0.01):
        W = fit_logreg(X, y, 10, lam, tol=1e-10)
        ref = sklearn_fit(X, y, lam).coef_.T
        assert np.allclose(W, ref, atol=2e-4), (lam, np.abs(W - ref).max())


def test_select_l2_keeps_the_grid_value_sklearn_finds_most_accurate_on_validation(small):
    X, y, Xv, yv = small
    y, _ = corrupt_labels(y, 0.5, 10, np.random.default_rng(1))  # noisy pool, clean validation: as in the notebook
    sel = select_l2(X, y, Xv, yv, 10, GRID)
    want = {lam: float((sklearn_fit(X, y, lam).predict(Xv) == yv).mean()) for lam in GRID}
    assert sel["val_acc"] == pytest.approx(want, abs=1e-12)
    best = max(want, key=lambda k: (want[k], k))
    assert sel["lam"] == best
    assert best not in (max(GRID), min(GRID))  # interior choice: the selection really discriminates
    assert np.allclose(sel["W"], sklearn_fit(X, y, best).coef_.T, atol=2e-4)


def test_select_l2_breaks_accuracy_ties_toward_the_stronger_penalty(small):
    X, y, _, _ = small
    Xv = np.zeros((1, X.shape[1]))  # logits all 0, so argmax is class 0, its label, for every lam: all tie
    sel = select_l2(X, y, Xv, np.array([0]), 10, GRID)
    assert len(set(sel["val_acc"].values())) == 1
    assert sel["lam"] == max(GRID)


def test_cv_select_l2_matches_brute_force_folds_fitted_with_sklearn(small):
    X, y, _, _ = small
    sel = cv_select_l2(X, y, 10, np.random.default_rng(7), GRID, folds=3)
    parts = np.array_split(np.random.default_rng(7).permutation(len(y)), 3)
    want = {}
    for lam in GRID:
        accs = []
        for te in parts:
            tr = np.setdiff1d(np.arange(len(y)), te)
            accs.append((sklearn_fit(X[tr], y[tr], lam).predict(X[te]) == y[te]).mean())
        want[lam] = float(np.mean(accs))
    assert sel["cv_acc"] == pytest.approx(want, abs=1e-12)
    assert sel["lam"] == max(want, key=lambda k: (want[k], k))
    assert np.allclose(sel["W"], sklearn_fit(X, y, sel["lam"]).coef_.T, atol=2e-4)  # refit on all of X


def test_untuned_inner_problem_at_equal_weights_is_the_grid_model_with_lam_twice_mu(small):
    X, y, Xv, yv = small
    mu = 5e-3
    prob = WeightedLogReg(X, y, Xv, yv, 10, mu)
    W_inner = prob.inner_solution(np.zeros(len(y)), tol=1e-10)  # weights sigmoid(0) = 1/2
    assert np.allclose(fit_logreg(X, y, 10, 2 * mu, tol=1e-10), W_inner, atol=1e-5)


@pytest.mark.parametrize("grid", [(), (0.1, -1.0), [[0.1]]])
def test_an_empty_or_negative_l2_grid_is_rejected(small, grid):
    X, y, Xv, yv = small
    with pytest.raises(ValueError, match="L2 grid"):
        select_l2(X, y, Xv, yv, 10, grid)


def test_bad_fold_counts_and_negative_penalties_are_rejected(small):
    X, y, _, _ = small
    with pytest.raises(ValueError, match="folds"):
        cv_select_l2(X, y, 10, np.random.default_rng(0), GRID, folds=1)
    with pytest.raises(ValueError, match="lam"):
        fit_logreg(X, y, 10, -0.1)
