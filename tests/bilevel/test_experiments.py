"""Experiment plumbing: budget parsing, the coverage the default budgets give, and the masks per method."""

import pytest

from support.bilevel import experiments as X
from support.fl.masks import coverage


def test_default_budgets_give_minimum_coverage_of_half_the_clients():
    assert X.coverage_of(X.BUDGETS, 1000, "nested") == len(X.BUDGETS) // 2
    assert X.coverage_of(X.BUDGETS, 1000, "rolling") >= 4


@pytest.mark.parametrize("text, msg", [("1,abc", "comma-separated"), ("1,0", r"\(0, 1\]"), ("0.5,0.5", "full model"),
                                       ("", r"\(0, 1\]")])
def test_bad_budget_strings_are_rejected_with_the_reason(text, msg):
    with pytest.raises(ValueError, match=msg):
        X.parse_budgets(text)


def test_cleaning_schedules_prune_both_variables_and_drop_means_empty_masks():
    s = X.cleaning_setup(0, n_pool=300, n_val=200, batch=50, val_batch=50, dataset="digits")
    mx, my = X.cleaning_schedule(s, X.BUDGETS, "nested")(0)
    assert mx.sum(axis=1).tolist() == [300, 300, 300, 300, 150, 150, 75, 75]
    rows = my.reshape(8, 65, 10).any(axis=2)
    assert rows[:, :-1].sum(axis=1).tolist() == [64, 64, 64, 64, 32, 32, 16, 16]
    assert coverage(mx).min() == 4
    dx, dy = X.cleaning_schedule(s, X.BUDGETS, "drop")(0)
    assert not dx[4:].any() and not dy[4:].any() and dx[:4].all()
    with pytest.raises(ValueError, match="exceeds"):
        X.cleaning_setup(0, n_pool=5000, n_val=10, dataset="digits")


@pytest.mark.parametrize("batch, val_batch, name", [(0, 50, "batch"), (50, 0, "val_batch"), (-3, 50, "batch")])
def test_empty_or_negative_cleaning_batches_are_rejected_instead_of_training_nothing_or_nan(batch, val_batch, name):
    # batch 0 used to give zero gradients (no training at all); val_batch 0 gave 0/0 = NaN outer gradients
    with pytest.raises(ValueError, match=name):
        X.cleaning_setup(0, n_pool=300, n_val=200, batch=batch, val_batch=val_batch, dataset="digits")
