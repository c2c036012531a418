"""RABO's aggregated oracle (arXiv 2512.24667 Sec. 3): each coordinate is the mean over the clients covering it."""

import numpy as np

from support.bilevel.federation import Federation


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
