"""Next-token KL divergence and top-1 agreement against hand-worked distributions and scipy's rel_entr."""

import numpy as np
import pytest
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import rel_entr

from support.lm.perplexity import kl_divergence, log_softmax, top1_agreement

# two 2-outcome rows and one 3-outcome row, each (reference p, other q)
P = np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))
Q = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))


def test_kl_divergence_equals_hand_worked_values_on_two_outcome_rows():
    # KL(p||q) = sum p ln(p/q): [.5,.5] vs [.25,.75]: .5 ln 2 + .5 ln(2/3) = .5 ln(4/3) = 0.1438410
    #                          [.9,.1] vs [.5,.5]:   .9 ln 1.8 + .1 ln .2   = 0.5290080 - 0.1609438 = 0.3680642
    assert kl_divergence(P, Q) == pytest.approx([0.5 * np.log(4 / 3), 0.3680642], abs=1e-7)


def test_kl_divergence_is_weighted_by_the_reference_and_not_symmetric():
    # reversed: KL(q||p) = .25 ln .5 + .75 ln 1.5 = 0.1308120 for the first row; different from 0.1438410
    assert kl_divergence(Q, P)[0] == pytest.approx(0.1308120, abs=1e-7)
    assert kl_divergence(P, Q)[0] != pytest.approx(kl_divergence(Q, P)[0], abs=1e-3)


def test_log_softmax_matches_scipy_and_leaves_its_float32_input_unchanged():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(20, 300)) * 8).astype(np.float32)
    before = x.copy()
    got = log_softmax(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, scipy_log_softmax(x.astype(np.float64), axis=-1), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(x, before)  # the in-place shift works on its float64 copy only
    z = x.astype(np.float64)
    assert log_softmax(z) is not z and np.array_equal(z, before.astype(np.float64))  # a float64 input too


def test_kl_divergence_matches_scipy_rel_entr_and_is_never_negative():
    rng = np.random.default_rng(0)
    lp, lq = log_softmax(rng.normal(size=(50, 7)) * 3), log_softmax(rng.normal(size=(50, 7)) * 3)
    expected = rel_entr(np.exp(lp), np.exp(lq)).sum(axis=1)
    np.testing.assert_allclose(kl_divergence(lp, lq), expected, rtol=1e-10, atol=1e-12)
    assert np.all(kl_divergence(lp, lq) >= 0) and np.allclose(kl_divergence(lp, lp), 0, atol=1e-12)


def test_top1_agreement_counts_rows_with_the_same_most_likely_token():
    # argmax of P rows: 0 (tie broken to the first index), 0; of Q rows: 1, 0 (tie) -> one of two rows agrees
    assert top1_agreement(P, Q) == 0.5


def test_log_softmax_of_huge_logits_stays_finite_and_matches_the_shift_invariant_answer():
    """Softmax ignores a common shift: [1000, 1001, 999] has the log-probabilities of [1, 2, 0] (scipy on the small
    row), where exp(1000) alone overflows to inf."""
    got = log_softmax(np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]]))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, scipy_log_softmax(np.array([[1.0, 2.0, 0.0], [-1.0, -2.0, 0.0]]), axis=-1),
                               rtol=1e-12, atol=1e-12)


def test_perplexity_is_the_exponent_of_the_mean_nll_by_hand():
    """NLLs 0, 0 and 3 ln 2 nats: mean ln 2, perplexity 2 (their median, 0, would give 1; their max 8)."""
    from support.lm.perplexity import perplexity_from_nll

    assert perplexity_from_nll([0.0, 0.0, 3 * np.log(2.0)]) == pytest.approx(2.0, rel=1e-12)


def test_token_nll_scores_each_next_token_under_the_previous_rows_distribution():
    """Row t predicts id t+1. Rows: uniform over 4 (ln 4 for any id), then p(2) = e^2 / (e^2 + 3) by hand."""
    from support.lm.perplexity import token_nll

    logits = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [9.0, 0.0, 0.0, 0.0]])
    got = token_nll(logits, [3, 1, 2])
    np.testing.assert_allclose(got, [np.log(4.0), -np.log(np.exp(2.0) / (np.exp(2.0) + 3.0))], rtol=1e-12)
