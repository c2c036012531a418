"""A2: variable elimination on the discrete networks shipped in the pgmpy wheel equals pgmpy's VE."""

import gzip
import time
import warnings

import numpy as np
import pytest

from support.factors import elimination as E
from support.factors import models as M

pgmpy = pytest.importorskip("pgmpy")
# pgmpy 1.1 imports its own deprecated estimators.StructureScore (from inference and readwrite): its warning, not ours
pytestmark = pytest.mark.filterwarnings(r"ignore:`pgmpy\.estimators\.StructureScore` is deprecated:FutureWarning")


def pgmpy_from_bif(name):
    """pgmpy's own reader (slow: seconds per network)."""
    from pgmpy.readwrite import BIFReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with gzip.open(M._pgmpy_file(name)) as fh:
            return BIFReader(string=fh.read().decode()).get_model()


def pgmpy_from_ours(bn):
    """A pgmpy model with our parsed CPTs (fast); inference is still pgmpy's."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    model = DiscreteBayesianNetwork([(p, v) for v in bn.variables for p in bn.parents[v]])
    model.add_nodes_from(bn.variables)
    for v in bn.variables:
        pars = list(bn.parents[v])
        probs = np.exp(bn.cpts[v].logp).reshape(len(bn.states[v]), -1)
        model.add_cpds(TabularCPD(v, len(bn.states[v]), probs, evidence=pars or None,
                                  evidence_card=[len(bn.states[p]) for p in pars] or None,
                                  state_names={u: list(bn.states[u]) for u in [v] + pars}))
    return model


def compare(bn, pm, seed, n_queries=3):
    from pgmpy.inference import VariableElimination

    ve = VariableElimination(pm)
    fs, heads = bn.factors()
    sizes = {v: len(s) for v, s in bn.states.items()}
    rng = np.random.default_rng(seed)
    worst, ours = 0.0, 0.0
    for _ in range(n_queries):
        ev, qs = M.sample_evidence(bn, 5, 1, rng)
        t = time.perf_counter()
        r = E.variable_elimination(fs, qs, ev, heads, sizes)
        ours += time.perf_counter() - t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pr = ve.query(qs, evidence={k: bn.states[k][v] for k, v in ev.items()}, show_progress=False)
        order = [pr.state_names[qs[0]].index(s) for s in bn.states[qs[0]]]
        worst = max(worst, float(np.abs(np.exp(r.posterior.logp) - pr.values[order]).max()))
    return worst, ours


@pytest.mark.parametrize("name", ["asia", "alarm"])
def test_our_bif_parser_matches_pgmpy_reader(name):
    bn = M.load_discrete(name)
    pm = pgmpy_from_bif(name)
    for v in bn.variables:
        cpd = pm.get_cpds(v)
        assert tuple(cpd.variables) == (v,) + bn.parents[v]
        vals = cpd.values
        perm = [[cpd.state_names[u].index(s) for s in bn.states[u]] for u in cpd.variables]
        vals = vals[np.ix_(*perm)]
        assert np.allclose(vals, np.exp(bn.cpts[v].logp), atol=0)


@pytest.mark.parametrize("name", M.DISCRETE_NETWORKS)
def test_ve_equals_pgmpy_ve(name):
    bn = M.load_discrete(name)
    worst, ours = compare(bn, pgmpy_from_ours(bn), seed=11)
    assert worst <= 1e-10
    if name == "andes":
        assert ours < 5.0


@pytest.mark.slow
@pytest.mark.parametrize("name", M.DISCRETE_NETWORKS)
def test_ve_equals_pgmpy_ve_with_pgmpy_reader(name):
    worst, _ = compare(M.load_discrete(name), pgmpy_from_bif(name), seed=12)
    assert worst <= 1e-10


def test_barren_pruning_keeps_pathfinder_small():
    """Without pruning pathfinder needs ~125 GiB; with it only ancestors of query/evidence remain."""
    bn = M.load_discrete("pathfinder")
    fs, heads = bn.factors()
    ev, qs = M.sample_evidence(bn, 5, 1, np.random.default_rng(0))
    keep = E.prune_barren(fs, heads, set(qs) | set(ev))
    assert len(keep) < len(fs)


def test_bad_bif_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="no discrete variables"):
        M.parse_bif("network x { }")
    bad = "variable a { type discrete [ 2 ] { y, n }; }\nprobability ( a ) { table 0.5; }"
    with pytest.raises(ValueError, match="has 1 entries, expected 2"):
        M.parse_bif(bad)
    with pytest.raises(ValueError, match="unknown network"):
        M.load_discrete("no-such-net")
