"""RABO's aggregated oracle (arXiv 2512.24667 Sec. 3): each coordinate is the mean over the clients covering it."""

import numpy as np
import pytest

from support.bilevel.federation import Federation, client_masks
from support.bilevel.quadratic import make_quadratic


class _Client:
    """A client whose oracles return fixed vectors; coordinates outside its submodel hold garbage (nan/inf)."""

    work = 0.0

    def __init__(self, gx, gy):
        self.gx, self.gy = np.asarray(gx, float), np.asarray(gy, float)

    def grad_x_f(self, x, y):
        return self.gx

    def grad_x_g(self, x, y):
        return self.gx

    def grad_y_f(self, x, y):
        return self.gy

    def grad_y_g(self, x, y):
        return self.gy


def test_federation_averages_only_the_coordinates_each_client_holds():
    clients = [_Client([1.0, 2.0, np.nan], [np.inf, 5.0]), _Client([np.inf, 4.0, 6.0], [3.0, -np.inf])]
    mask_x = np.array([[1, 1, 0], [0, 1, 1]], bool)
    mask_y = np.array([[0, 1], [1, 0]], bool)
    fed = Federation(clients, mask_x, mask_y)
    x, y = np.zeros(3), np.zeros(2)
    assert fed.grad_x_f(x, y).tolist() == [1.0, 3.0, 6.0]
    assert fed.grad_x_g(x, y).tolist() == [1.0, 3.0, 6.0]
    assert fed.grad_y_f(x, y).tolist() == [3.0, 5.0]
    assert fed.grad_y_g(x, y).tolist() == [3.0, 5.0]
    assert fed.calls == 4


def test_client_masks_default_to_the_full_model_and_refuse_another_shape():
    mx, my = client_masks(3, 4, 2, None, None)
    assert mx.shape == (3, 4) and my.shape == (3, 2) and mx.all() and my.all()
    given = np.array([[True, False, True, True]] * 3)
    assert np.array_equal(client_masks(3, 4, 2, given, None)[0], given)
    with pytest.raises(ValueError, match=r"masks must be \(3, 4\) and \(3, 2\); got \(3, 4\), \(2, 2\)"):
        client_masks(3, 4, 2, None, np.ones((2, 2), bool))


def test_quadratic_clients_refuse_masks_of_the_wrong_shape():
    task = make_quadratic(np.random.default_rng(0), n_clients=2, nx=3, ny=3)
    with pytest.raises(ValueError, match="masks must be"):
        task.clients(np.ones((1, 3), bool), None)
