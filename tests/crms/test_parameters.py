"""06's parameters are checked right after ``start``: a bad value fails at once with a ParameterError naming the
parameter, instead of late (after the live profile) or not at all (a negative power weight, negative loads)."""

import pytest

from support.crms import experiments as X
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "06_crms.ipynb"
CHECKED = ("p_idle", "p_max", "beta_mem", "server_cpu", "server_mem", "w_pow", "load_lo", "load_hi", "epoch_s",
           "holdout_frac", "cell_stat")


def _defaults(**changes):
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    return {**{k: p[k] for k in CHECKED}, "scale": p["scale"], **changes}


@pytest.mark.parametrize("scale", ["smoke", "default", "paper"])
def test_notebook_defaults_pass_the_parameter_check_at_every_scale(scale):
    assert X.check_parameters(**_defaults(scale=scale)) is None


@pytest.mark.parametrize(("changes", "name"), [
    ({"p_max": 20.0}, "p_max"),  # below p_idle = 30 W
    ({"p_idle": -1.0}, "p_idle"),
    ({"server_cpu": -1.0}, "server_cpu"),
    ({"server_cpu": 0.5}, "server_cpu"),  # four apps need 4 x c_min = 0.6 CPUs
    ({"server_mem": 0.25}, "server_mem"),  # four apps need 4 x m_min = 0.5 GB
    ({"beta_mem": -1.0}, "beta_mem"),
    ({"w_pow": -0.002}, "w_pow"),  # CRMS would maximise power
    ({"load_lo": 0.7, "load_hi": 0.5}, "load_hi"),
    ({"load_lo": -0.7, "load_hi": -0.5}, "load_lo"),  # every rate would be clamped to 1e-3 req/s
    ({"load_lo": 0.5, "load_hi": 1.0}, "load_hi"),
    ({"epoch_s": 0.0}, "epoch_s"),
    ({"epoch_s": 3600.0}, "epoch_s"),  # the trace spans ~3513 s: less than two epochs
    ({"holdout_frac": 0.0}, "holdout_frac"),  # no split: no held-back score
    ({"holdout_frac": 0.2}, "holdout_frac"),  # 6 of 32 cells: adjusted R^2 needs more than 7
    ({"holdout_frac": 0.77}, "holdout_frac"),  # 7 training cells for 6 coefficients
    ({"holdout_frac": 1.5}, "holdout_frac"),
    ({"holdout_frac": "a third"}, "holdout_frac"),
    ({"cell_stat": "mean"}, "cell_stat"),  # only the fastest repetition or the median
    ({"cell_stat": "Min"}, "cell_stat"),
])
def test_bad_value_raises_a_parameter_error_naming_the_parameter(changes, name):
    with pytest.raises(ParameterError, match=name) as e:
        X.check_parameters(**_defaults(**changes))
    assert repr(changes[name]) in str(e.value)


def test_holdout_frac_is_checked_on_the_recorded_grid_too_at_paper_scale():
    # paper's live grid has 45 cells (0.2 holds back 9), but without cgroups the fit uses the recorded 32-cell grid
    with pytest.raises(ParameterError, match="32 .* cells of the default grid"):
        X.check_parameters(**_defaults(scale="paper", holdout_frac=0.2))


def test_the_recorded_profile_is_on_the_default_grid_the_check_assumes():
    df = X.recorded_profile()
    cpus, mem, _, _ = X.GRIDS["default"]
    assert sorted(df.cpus.unique()) == sorted(cpus) and sorted(df.mem_mb.unique()) == sorted(mem)
