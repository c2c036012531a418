"""Hypergradient estimators against closed forms (quadratics) and against torch autograd / CG (logistic, MLP)."""

import numpy as np
import pytest

from support.bilevel.estimators import InnerConfig, cg_solve, fd_cross, fd_hvp, make_estimator
from support.bilevel.federation import Federation
from support.bilevel.quadratic import make_quadratic
from support.bilevel.rabo import RunConfig, full_schedule, run_rabo
from support.validate import ParameterError


def fed_of(prob):
    M = prob.n_clients
    return Federation(prob.clients(None, None), np.ones((M, prob.nx), bool), np.ones((M, prob.ny), bool))


def test_closed_form_hypergradient_matches_finite_differences_of_the_value_function():
    prob = make_quadratic(np.random.default_rng(0), n_clients=3, nx=5, ny=4)
    x = np.random.default_rng(1).normal(size=5)
    eps = 1e-5
    num = np.array([(prob.value(x + eps * e) - prob.value(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    assert np.allclose(prob.hypergradient(x), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("delta", [1e-4, 1e-2, 1.0, 10.0])
def test_fd_hvp_hypergradient_is_exact_on_quadratics_for_steps_1e_4_to_10(delta):
    prob = make_quadratic(np.random.default_rng(2), n_clients=4, nx=7, ny=9)
    fed = fed_of(prob)
    x = np.random.default_rng(3).normal(size=7)
    y = prob.y_star(x)
    v = cg_solve(lambda u: fd_hvp(fed, x, y, u, delta), fed.grad_y_f(x, y), tol=1e-14)
    h = fed.grad_x_f(x, y) - fd_cross(fed, x, y, v, delta)
    exact = prob.hypergradient(x)
    assert np.linalg.norm(h - exact) / np.linalg.norm(exact) <= 1e-6


def test_fd_products_equal_the_exact_second_order_oracles_on_quadratics():
    prob = make_quadratic(np.random.default_rng(4), n_clients=2, nx=3, ny=6)
    fed = fed_of(prob)
    rng = np.random.default_rng(5)
    x, y, v = rng.normal(size=3), rng.normal(size=6), rng.normal(size=6)
    assert np.allclose(fd_hvp(fed, x, y, v, 0.1), fed.hvp(x, y, v), atol=1e-12)
    assert np.allclose(fd_cross(fed, x, y, v, 0.1), fed.cross(x, y, v), atol=1e-12)


@pytest.mark.parametrize("name", ["fd_hvp", "exact_hvp", "f2sa"])
def test_every_estimator_drives_the_full_model_to_the_closed_form_outer_minimizer(name):
    prob = make_quadratic(np.random.default_rng(6), n_clients=3, nx=4, ny=5)
    kw = {"lam0": 50.0, "growth": 5.0, "lam_max": 1e4} if name == "f2sa" else {}
    est = make_estimator(name, InnerConfig(10, 0.2, 10, 0.2, 1e-2), **kw)
    res = run_rabo(prob, est, full_schedule(prob), RunConfig(150, 0.3), np.random.default_rng(0))
    xs = prob.x_star()
    tol = 1e-6 if name != "f2sa" else 2e-2  # F2SA carries an O(1/lambda) bias
    assert np.linalg.norm(res.x - xs) <= tol * max(1.0, np.linalg.norm(xs))


def test_cg_solves_a_known_system():
    A = np.array([[4.0, 1.0], [1.0, 3.0]])
    assert np.allclose(cg_solve(lambda v: A @ v, np.array([1.0, 2.0])), np.linalg.solve(A, [1.0, 2.0]))


def test_cg_solves_an_ill_conditioned_system_in_about_n_iterations():
    """Conjugate gradients finish an n x n SPD system in n steps in exact arithmetic; with 12 eigenvalues spread over
    1..1e4, 24 iterations reach the numpy.linalg.solve answer to 1e-8 (steepest descent would need ~1e5)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    A = Q @ np.diag(np.logspace(0, 4, 12)) @ Q.T
    rhs = rng.normal(size=12)
    v = cg_solve(lambda u: A @ u, rhs, tol=1e-14, max_iter=24)
    np.testing.assert_allclose(v, np.linalg.solve(A, rhs), rtol=1e-8)


def test_unknown_estimator_and_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="unknown estimator"):
        make_estimator("newton", InnerConfig())
    with pytest.raises(ValueError, match="delta"):
        InnerConfig(delta=0.0)
    with pytest.raises(ValueError, match="lam"):
        make_estimator("f2sa", InnerConfig(), lam0=-1.0)


@pytest.mark.parametrize("noise", [-1.0, float("nan")])
def test_a_negative_or_nan_oracle_noise_is_refused(noise):
    with pytest.raises(ValueError, match="oracle noise"):
        make_quadratic(np.random.default_rng(0), n_clients=2, nx=3, ny=3, noise=noise)


@pytest.mark.parametrize("field, value", [("delta", float("inf")), ("delta", float("nan")), ("inner_lr", -0.1),
                                          ("solver_lr", float("inf")), ("inner_steps", 2.5),
                                          ("solver_steps", 3.0), ("inner_steps", -1), ("solver_steps", True)])
def test_inner_config_refuses_non_finite_steps_and_non_integer_step_counts_naming_the_field(field, value):
    """An infinite FD step made every FD product 0 silently; 2.5 inner steps failed later inside range()."""
    with pytest.raises(ParameterError, match=field):
        InnerConfig(**{field: value})


def test_quadratic_client_charges_its_x_mask_size_per_x_oracle_and_its_y_mask_size_per_y_oracle():
    prob = make_quadratic(np.random.default_rng(4), n_clients=1, nx=5, ny=4)
    c = prob.clients(np.array([[1, 1, 0, 0, 0]], bool), np.array([[1, 1, 1, 0]], bool))[0]
    x, y = np.zeros(5), np.zeros(4)
    for name, n in [("grad_x_f", 2), ("grad_x_g", 2), ("cross", 2), ("grad_y_f", 3), ("grad_y_g", 3), ("hvp", 3)]:
        before = c.work
        getattr(c, name)(*((x, y, y) if name in ("hvp", "cross") else (x, y)))
        assert c.work - before == n, name


def test_f2sa_penalty_grows_by_its_schedule_and_the_step_uses_it():
    """h = grad_x f(x, w) + lam_q (grad_x g(x, w) - grad_x g(x, z)), lam_q = min(lam0 + growth q, lam_max): with
    oracles whose y-gradients vanish (w = 2, z = 1 stay put) and grad_x g(x, v) = v, h = 1 + lam_q."""
    from types import SimpleNamespace

    est = make_estimator("f2sa", InnerConfig(inner_steps=1, inner_lr=0.1))
    o = SimpleNamespace(grad_y_g=lambda x, y: 0 * y, grad_y_f=lambda x, y: 0 * y,
                        grad_x_f=lambda x, y: np.ones(1), grad_x_g=lambda x, y: y.copy())
    state = {"y": np.ones(1), "w": np.full(1, 2.0)}
    for q in (0, 10, 10_000):
        h, _ = est.step(o, np.zeros(1), state, q)
        assert h == pytest.approx(1 + min(est.lam0 + est.growth * q, est.lam_max))
    assert est.lam(10) > est.lam(0) and est.lam(10_000) == est.lam_max
