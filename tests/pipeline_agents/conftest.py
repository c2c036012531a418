import pytest

from support.pipeline_agents import experiments as X


@pytest.fixture(scope="session")
def inputs():
    """Real inputs once per session: TPC-H SF 0.01 in DuckDB (1 rep), drift outcomes, Azure profile, faults."""
    return X.load_inputs(0.01, reps=1)
