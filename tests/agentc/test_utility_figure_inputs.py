"""What 01's utility figure and its caption are given: the paper's deltas come from the utility claims (abstract v1:
Claude Sonnet 4.5 71.8 -> 75.2 %, GPT-5 66.1 -> 70.6 %), under the setting names the summaries carry, and the caption
points at a printed line of the run's own gains and losses instead of stating them."""

import pandas as pd
import pytest

from support.agentc import experiments as X
from support.agentc.claims import CLAIMS


def test_the_paper_deltas_are_the_abstracts_differences_with_their_model():
    deltas = X.paper_utility_deltas()
    # 75.2 - 71.8 = 3.4 pp (Claude), 70.6 - 66.1 = 4.5 pp (GPT-5); no airline-only delta: airline shows GPT-5's
    assert deltas == {"airline GPT-4o (real)": (pytest.approx(4.5), "GPT-5"),
                      "retail Claude-like (calibrated)": (pytest.approx(3.4), "Claude"),
                      "retail GPT-5-like (calibrated)": (pytest.approx(4.5), "GPT-5")}


def test_the_figure_draws_the_same_paper_values_as_the_claims_table():
    deltas = X.paper_utility_deltas()
    for setting, claim in (("airline GPT-4o (real)", "utility_delta_airline"),
                           ("retail Claude-like (calibrated)", "utility_delta_retail_claude"),
                           ("retail GPT-5-like (calibrated)", "utility_delta_retail_gpt5")):
        assert deltas[setting][0] == CLAIMS[claim].paper_value


def test_every_summary_setting_has_its_paper_delta_and_airline_comes_first():
    s_air, s_ret = {"n": 40}, {"claude": {"n": 80}, "gpt5": {"n": 81}}
    summ = X.summaries_by_setting(s_air, s_ret)
    assert list(summ) == ["airline GPT-4o (real)", "retail Claude-like (calibrated)", "retail GPT-5-like (calibrated)"]
    assert [s["n"] for s in summ.values()] == [40, 80, 81]
    assert list(summ) == list(X.paper_utility_deltas())  # a setting without one would draw no paper bar


def _runs(u, e, tasks):
    return pd.DataFrame({"task_id": tasks, "u_reward": u, "e_reward": e})


def test_the_utility_line_counts_gains_and_losses_and_names_their_tasks():
    df = _runs([1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0], [26, 3, 26, 7, 12])
    assert X.utility_change_line(df, "airline") == ("airline: 1 of 5 runs gained utility (task 12), 2 lost "
                                                   "(task 26), 2 unchanged")
    df = _runs([1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [30, 26, 30])
    assert X.utility_change_line(df, "airline") == "airline: 0 of 3 runs gained utility, 2 lost (tasks 26, 30), 1 unchanged"


def test_the_utility_line_of_no_runs_says_so():
    assert X.utility_change_line(_runs([], [], []), "airline") == "airline: no runs"
