"""The circular-observation claims (circular_pf_tv, circular_tv_ratio) read ``circular_experiment``'s final-step TV
columns: those, and the TV itself, against read-outs written here with numpy and scipy only."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from support.factors import experiments as X
from support.factors import grid as GR


def _tv(p: np.ndarray, q: np.ndarray) -> float:
    p, q = np.ravel(p), np.ravel(q)
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())


@pytest.mark.parametrize(("p", "q", "tv"), [
    ([1.0, 0.0], [0.0, 1.0], 1.0),  # disjoint supports: the largest distance
    ([0.5, 0.5], [1.0, 0.0], 0.5),  # ½(|0.5 - 1| + |0.5 - 0|)
    ([2.0, 2.0], [3.0, 0.0], 0.5),  # the same two distributions, unnormalized
    ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 0.0),
    ([[0.1, 0.4], [0.5, 0.0]], [[0.4, 0.1], [0.0, 0.5]], 0.8),  # ½(0.3 + 0.3 + 0.5 + 0.5)
])
def test_total_variation_is_half_the_l1_distance_of_the_normalized_masses(p, q, tv):
    """The circular claims' bar (0.25) is on this scale: TV lies in [0, 1], 1 for disjoint supports."""
    assert GR.total_variation(np.array(p), np.array(q)) == pytest.approx(tv, abs=1e-15)


def test_circular_experiment_final_step_tv_and_mean_errors_match_independent_read_outs():
    """Seed 0's final step, recomputed from the run's own final beliefs (``example``): the grid mass summed into 16x16
    bins by a reshape, the particles binned by numpy's histogram2d, the ADF Gaussian's bin masses by inclusion-exclusion
    of scipy's bivariate normal CDF; the posterior means against the grid's mean (first axis = x, second = y)."""
    T, grid_n, bins, box = 3, 64, 16, 7.0
    run = X.circular_experiment(T=T, n_seeds=1, n_particles=400, grid_n=grid_n, bins=bins, box=box, seed=0)
    for arr in (run.tv_pf, run.tv_gauss, run.mean_err_pf, run.mean_err_gauss):
        assert arr.shape == (1, T)
    ex = run.example
    f = grid_n // bins
    grid = ex["grid_final"].reshape(bins, f, bins, f).sum(axis=(1, 3))
    edges = np.linspace(-box, box, bins + 1)
    pts, w = ex["pf_final"], ex["pf_final_w"]
    hist = np.histogram2d(pts[:, 0], pts[:, 1], bins=[edges, edges], weights=w)[0]
    assert run.tv_pf[0, -1] == pytest.approx(_tv(grid, hist), abs=1e-9)
    mu, P = ex["gauss_final"]
    ex_, ey_ = np.meshgrid(edges, edges, indexing="ij")
    C = multivariate_normal.cdf(np.stack([ex_, ey_], axis=-1), mean=mu, cov=P, abseps=1e-8, releps=1e-8)
    boxes = np.clip(C[1:, 1:] - C[:-1, 1:] - C[1:, :-1] + C[:-1, :-1], 0.0, None)
    assert run.tv_gauss[0, -1] == pytest.approx(_tv(grid, boxes), abs=2e-3)
    c = ex["centers"]
    grid_mean = np.array([ex["grid_final"].sum(axis=1) @ c, ex["grid_final"].sum(axis=0) @ c])
    assert run.mean_err_pf[0, -1] == pytest.approx(np.linalg.norm(w @ pts / w.sum() - grid_mean), abs=1e-9)
    assert run.mean_err_gauss[0, -1] == pytest.approx(np.linalg.norm(mu - grid_mean), abs=1e-9)
