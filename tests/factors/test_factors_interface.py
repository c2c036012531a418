"""A1: engines use only the five ops; unsupported pairs and bad inputs raise clear errors."""

import numpy as np
import pytest

from support.factors import elimination, experiments, filtering, ops, sum_product
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


def test_engines_reach_nothing_in_ops_beyond_the_five_ops_and_scope():
    assert experiments.engine_bypasses() == {name: [] for name in experiments.ENGINE_MODULES}


def _install_sum_product_variant(tmp_path, monkeypatch, old: str, new: str) -> None:
    """Install a copy of sum_product with ``old`` replaced by ``new`` in place of the real module, where
    ``interface_check`` and the source scan find it."""
    import importlib.util
    import inspect
    import sys

    src = inspect.getsource(sum_product)
    assert src.count(old) == 1
    path = tmp_path / "sum_product.py"
    path.write_text(src.replace(old, new))
    spec = importlib.util.spec_from_file_location("support.factors.sum_product", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "support.factors.sum_product", mod)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(experiments, "sum_product", mod)


def test_an_engine_that_calls_a_representation_module_through_ops_fails_the_check(tmp_path, monkeypatch):
    """``ops.G.product`` is correct for Gaussians (so the RTS test still passes) but skips the interface and
    its op counter: the source scan names it, and the row counts no product."""
    _install_sum_product_variant(tmp_path, monkeypatch, "ops.product(out, m)", "ops.G.product(out, m)")
    assert experiments.engine_bypasses()["sum_product"] == ["ops.G"]
    ok, df = experiments.interface_check(seed=0)
    assert not ok
    row = df.set_index("engine").loc["sum_product (Gaussian chain)"]
    assert row["beyond the interface"] == "ops.G" and row["product"] == 0


def test_a_bypass_the_source_scan_cannot_see_fails_on_the_op_counts(tmp_path, monkeypatch):
    """``getattr(ops, "G")`` hides the bypass from the scan; the row still counts no product, and every engine
    must call product, marginalize and normalize through the counter."""
    _install_sum_product_variant(tmp_path, monkeypatch, "ops.product(out, m)", 'getattr(ops, "G").product(out, m)')
    assert experiments.engine_bypasses()["sum_product"] == []
    ok, df = experiments.interface_check(seed=0)
    assert not ok and df.set_index("engine").loc["sum_product (Gaussian chain)", "product"] == 0


def test_importing_a_representation_module_from_ops_counts_as_a_bypass(tmp_path, monkeypatch):
    _install_sum_product_variant(tmp_path, monkeypatch, "from support.factors import ops\n",
                                 "from support.factors import ops\nfrom support.factors.ops import G\n")
    assert experiments.engine_bypasses()["sum_product"] == ["G"]
    assert not experiments.interface_check(seed=0)[0]


def test_a_plain_import_of_a_representation_module_fails_the_check(tmp_path, monkeypatch):
    _install_sum_product_variant(tmp_path, monkeypatch, "from support.factors import ops\n",
                                 "from support.factors import ops\nimport support.factors.gaussian\n")
    assert "gaussian" in experiments.engine_imports()["sum_product"]
    assert not experiments.interface_check(seed=0)[0]


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


def test_an_exact_engine_that_projects_fails_the_check(tmp_path, monkeypatch):
    """five_ops also needs exact runs to make no ``project`` call: a sum-product that draws (and discards) particles
    from each marginal keeps its answers and calls every op through the interface, yet is refused on the op count."""
    _install_sum_product_variant(tmp_path, monkeypatch, "        marginals[v], lz = ops.normalize(prod)\n",
                                 "        marginals[v], lz = ops.normalize(prod)\n"
                                 '        ops.project(marginals[v], "particles", n=2,'
                                 ' rng=__import__("numpy").random.default_rng(0))\n')
    assert experiments.engine_bypasses()["sum_product"] == []
    ok, df = experiments.interface_check(seed=0)
    assert df.set_index("engine").loc["sum_product (Gaussian chain)", "project"] > 0
    assert not ok
