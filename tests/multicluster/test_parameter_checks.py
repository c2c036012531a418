"""Notebook 11's ``slo_s`` is checked when FederationConfig is built right after ``start``: a value no latency can
break, or not a number, is a ParameterError (exit 2) naming it, not a run that reports 0 % SLO violations."""

import pytest

from support.multicluster.federation import FederationConfig
from support.validate import ParameterError


@pytest.mark.parametrize("bad", [1.0, 2.0, float("inf"), float("nan"), "0.2", True])
def test_an_slo_no_latency_can_break_or_not_a_number_is_refused_naming_slo_s(bad):
    """Latencies are capped at latency_cap_s (1 s, an overloaded cluster's timeout): an SLO at or above it is never
    violated, so every controller scored 0 % violations; "0.2" failed with a TypeError, True passed as 1 s."""
    with pytest.raises(ParameterError, match=rf"^slo_s must be above .* and below latency_cap_s = 1 s .*got {bad!r}$"):
        FederationConfig(slo_s=bad)


def test_an_slo_between_the_service_time_and_the_latency_cap_is_accepted():
    assert FederationConfig(slo_s=0.999).slo_s == 0.999
    assert FederationConfig(slo_s=0.6, latency_cap_s=2.0).slo_s == 0.6
