"""A1: engines use only the five ops; unsupported pairs and bad inputs raise clear errors."""

import numpy as np
import pytest

from support.factors import elimination, experiments, filtering, ops
from support.factors.density import LogDensity
from support.factors.errors import UnsupportedPairError
from support.factors.models import slds_1d
from support.factors.table import Table


def test_engines_import_only_the_ops_module():
    imports = experiments.engine_imports()
    for engine, mods in imports.items():
        assert set(mods) <= {"ops", "errors"}, (engine, mods)


# fields of Table / Gaussian / Particles ("discrete"/"continuous" are left out: RepresentationMap uses them too)
REPRESENTATION_FIELDS = {"logp", "logw", "values", "kinds", "attached", "g", "h", "K", "names"}


def test_engines_never_read_a_representation_field_directly():
    """An engine that imports only ``ops`` could still read ``belief.logw``; no attribute of that name may
    appear in engine source."""
    import ast
    import importlib
    import inspect

    for name in experiments.ENGINE_MODULES:
        tree = ast.parse(inspect.getsource(importlib.import_module(f"support.factors.{name}")))
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not used & REPRESENTATION_FIELDS, (name, sorted(used & REPRESENTATION_FIELDS))


def test_every_engine_runs_through_counted_ops_and_exact_runs_never_project():
    ok, df = experiments.interface_check(seed=0)
    assert ok
    assert (df[["product", "marginalize", "normalize"]].sum(axis=1) > 0).all()
    exact = df[df.engine.str.contains("elimination|exact|sum_product")]
    assert (exact.project == 0).all()
    sampled = df[df.engine.str.contains("pf|gpb1")]
    assert (sampled.project > 0).all()


def test_unsupported_pair_and_bad_names():
    d = LogDensity((("x", 1),), lambda v: np.zeros(len(v["x"])))
    with pytest.raises(UnsupportedPairError, match="project"):
        ops.product(d, Table(("s",), np.zeros(2)))
    with pytest.raises(ValueError, match="unknown query/evidence"):
        elimination.variable_elimination([Table(("a",), np.zeros(2))], ["a"], {"nope": 0})
    with pytest.raises(ValueError, match="unsupported representation pair"):
        filtering.RepresentationMap("bad", discrete="table", continuous="particles", n_particles=5)
    with pytest.raises(ValueError, match="unknown representation map"):
        filtering.representation_map("kalman-ish")
    with pytest.raises(ValueError, match="'exact' is deterministic and takes no particle count; got n_particles=500"):
        filtering.representation_map("exact", 500)
    assert filtering.representation_map("gpb2", 0) is filtering.GPB2
    with pytest.raises(Exception, match="rng"):
        m = slds_1d(2)
        filtering.forward_filter(m.with_data(np.zeros(3)), filtering.bootstrap_pf(10))
