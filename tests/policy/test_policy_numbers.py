"""support.policy numbers: z3 and Rego both decide on exact decimals (3.2 is 16/5), as a Fraction oracle does by hand.

Before, z3 took each float's binary value (15 * 3.2 > 48) and regopy doubles rounded to 16 digits (15 * 3.2 == 48):
a cost exactly at its ceiling was a z3 deny and a Rego allow. The grids of the shipped schemas are dyadic, where all
agree, so the non-dyadic cases here are the ones that catch it.
"""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from support.policy import PolicyError, load_policy
from support.policy.numbers import decimal_places, decimal_value, scaled

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "data" / "pipeline_agents" / "policies"

BASE_S = {"workers": 14, "price_per_worker_hour": 3.2, "region": "eu-west", "changes_last_hour": 0,
          "sink_pii_certified": False}
BASE_A = {"kind": "scale", "delta_workers": 1, "memory_factor": 1.0, "price_factor": 1.0,
          "target_region": "eu-west", "writes_pii": False, "drops_required": False}


def dec(x) -> Fraction:
    """The oracle's number: the decimal a value is written as (its repr), as an exact fraction."""
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


@pytest.mark.parametrize("state, action, verdict", [
    ({}, {}, "allow"),                                             # 15 x 3.2 = 48.0 exactly: at the ceiling
    ({"price_per_worker_hour": 1.6, "workers": 11}, {"price_factor": 2.5}, "allow"),  # 12 x 1.6 x 2.5 = 48
    ({"price_per_worker_hour": 0.6, "workers": 19}, {"price_factor": 1.6, "memory_factor": 1.25}, "allow"),  # 20x1.2=24
    ({"price_per_worker_hour": 3.21}, {}, "deny"),                 # 15 x 3.21 = 48.15
    ({"price_per_worker_hour": 3.2000000000000006}, {}, "deny"),   # 48.000000000000009 > 48
])
def test_cost_exactly_at_the_ceiling_is_allowed_by_both_engines_with_non_dyadic_prices(state, action, verdict):
    """The shipped cost_ceiling rule (next.cost_per_hour <= 48), with the costs worked out by hand on decimals."""
    pol = load_policy(POLICIES)
    s, a = {**BASE_S, **state}, {**BASE_A, **action}
    for d in (pol.check(s, a), pol.check_rego(s, a), pol.check_many([(s, a)])[0], pol.check_rego_many([(s, a)])[0]):
        assert d.verdict == verdict, d
        assert d.violated == (() if verdict == "allow" else ("cost_ceiling",))


SCHEMA = """name: decimals
fields:
  state.units: {type: int, min: 0, max: 12}
  state.price: {type: real, min: 0, max: 1, step: 0.1}
  action.factor: {type: real, min: 0.1, max: 1.5, step: 0.1}
  action.fee: {type: real, min: 0, max: 0.5, step: 0.05}
derived:
  next.cost: "state.units * state.price * action.factor + action.fee"
"""
RULES = {
    "ceiling": 'id: ceiling\neffect: deny\nrequire: "next.cost <= 0.9"\n',
    "margin": 'id: margin\neffect: approval\nwhen: "action.fee > 0"\nrequire: "state.price - action.fee >= 0.3"\n',
    "band": ('id: band\neffect: approval\n'
             'require: "max(state.price * action.factor, 0.2) <= 0.6 or abs(action.factor - state.price) == 0.7"\n'),
}


@pytest.fixture(scope="module")
def decimals(tmp_path_factory):
    d = tmp_path_factory.mktemp("decimals")
    (d / "schema.yaml").write_text(SCHEMA)
    for name, text in RULES.items():
        (d / f"{name}.yaml").write_text(text)
    return load_policy(d)


def oracle(s: dict, a: dict) -> tuple[str, set[str]]:
    """The three rules of RULES written out by hand on fractions (independent of the compiler)."""
    units, price, factor, fee = s["units"], dec(s["price"]), dec(a["factor"]), dec(a["fee"])
    v = set()
    if not units * price * factor + fee <= Fraction(9, 10):
        v.add("ceiling")
    if fee > 0 and not price - fee >= Fraction(3, 10):
        v.add("margin")
    if not (max(price * factor, Fraction(2, 10)) <= Fraction(6, 10) or abs(factor - price) == Fraction(7, 10)):
        v.add("band")
    return ("deny" if "ceiling" in v else "escalate" if v else "allow"), v


def _ties(pairs) -> dict[str, int]:
    """How many pairs sit exactly on each rule's boundary (the cases where float rounding can flip a verdict)."""
    t = {"ceiling": 0, "margin": 0, "band_max": 0, "band_abs": 0}
    for s, a in pairs:
        price, factor, fee = dec(s["price"]), dec(a["factor"]), dec(a["fee"])
        t["ceiling"] += s["units"] * price * factor + fee == Fraction(9, 10)
        t["margin"] += fee > 0 and price - fee == Fraction(3, 10)
        t["band_max"] += price * factor == Fraction(6, 10)
        t["band_abs"] += abs(factor - price) == Fraction(7, 10)
    return t


def test_z3_and_rego_match_the_fraction_oracle_on_a_non_dyadic_grid_full_of_ties(decimals):
    pairs = decimals.sample_pairs(3000, np.random.default_rng(0))
    z, r = decimals.check_many(pairs), decimals.check_rego_many(pairs)
    bad = [(p, dz, dr) for p, dz, dr in zip(pairs, z, r)
           if not (dz.verdict, set(dz.violated)) == (dr.verdict, set(dr.violated)) == oracle(*p)]
    assert bad == []
    assert min(_ties(pairs).values()) >= 10  # every boundary is hit, exactly
    # plain float arithmetic gets some of these ties wrong, so the grid tests what a dyadic one cannot
    assert any((s["units"] * s["price"] * a["factor"] + a["fee"] <= 0.9) != ("ceiling" not in oracle(s, a)[1])
               for s, a in pairs)


def test_z3_and_rego_match_the_fraction_oracle_on_values_with_many_digits(decimals):
    """Off-grid values with up to 17 significant digits, tiny and huge ones: Rego's integers grow, stay exact."""
    rng = np.random.default_rng(5)
    pairs = []
    for i in range(300):
        price = [float(rng.uniform(0, 1)), 0.30000000000000004, 1e-7, 2.5e-12, 0.1][i % 5]
        fee = [float(rng.uniform(0, 0.5)), 0.6 - price, 1e15, 0.0, 0.2][(i // 5) % 5]
        pairs.append(({"units": int(rng.integers(0, 13)), "price": price},
                      {"factor": float(rng.uniform(0.1, 1.5)), "fee": fee}))
    z, r = decimals.check_many(pairs), decimals.check_rego_many(pairs)
    for p, dz, dr in zip(pairs, z, r):
        assert (dz.verdict, set(dz.violated)) == (dr.verdict, set(dr.violated)) == oracle(*p), p


def test_sample_pairs_draws_the_declared_decimal_grid_points(decimals):
    """A step of 0.1 gives 0.3, not 0.1 * 3 = 0.30000000000000004: every drawn price is one of 0.0, 0.1, ..., 1.0."""
    got = {s["price"] for s, _ in decimals.sample_pairs(2000, np.random.default_rng(1))}
    assert got == {float(Fraction(i, 10)) for i in range(11)}


def test_rego_input_without_its_number_scale_is_denied(decimals):
    """The module reads reals as scaled integers; an input that lacks ``num`` (a raw caller) is incomplete: deny."""
    from regopy import Interpreter

    it = Interpreter()
    it.add_module("m.rego", decimals.rego_source())
    it.set_input_term(json.dumps({"state": {"units": 1, "price": 0.1}, "action": {"factor": 1.0, "fee": 0.0}}))
    assert json.loads(str(it.query("data." + decimals.package)))["expressions"][0]["decision"] == "deny"


@pytest.mark.parametrize("x, want", [(0.1, Fraction(1, 10)), (3.2, Fraction(16, 5)), (1e-05, Fraction(1, 100000)),
                                     (1.5e20, Fraction(150 * 10**18)), (7, Fraction(7)), (np.float64(0.3), Fraction(3, 10)),
                                     (np.int64(-4), Fraction(-4)), (-0.125, Fraction(-1, 8))])
def test_decimal_value_is_the_shortest_decimal_of_a_number(x, want):
    assert decimal_value(x) == want


def test_decimal_places_and_scaled_integers():
    # 5, 0.1, 0.125, 0.075, -0.007
    assert [decimal_places(Fraction(n, d)) for n, d in [(5, 1), (1, 10), (1, 8), (3, 40), (-7, 1000)]] == [0, 1, 3, 3, 3]
    assert scaled(Fraction(16, 5), 3) == 3200 and scaled(Fraction(-1, 8), 3) == -125
    for bad in (lambda: decimal_places(Fraction(1, 3)), lambda: scaled(Fraction(1, 8), 2),
                lambda: decimal_value(True), lambda: decimal_value(float("inf"))):
        with pytest.raises(PolicyError):
            bad()


def test_decimal_literals_in_rules_are_exact_too(tmp_path):
    """A rule literal is a decimal as well: 3 workers x 0.1 against a ceiling written as 0.3 is a tie (allow);
    3 x 0.10000000000000002 (the next double above 0.1) is 0.30000000000000006, over the ceiling (deny)."""
    d = tmp_path / "pol"
    shutil.copytree(POLICIES, d)
    (d / "cost_ceiling.yaml").write_text('id: cost_ceiling\neffect: deny\nwhen: "action.delta_workers > 0"\n'
                                         'require: "next.cost_per_hour <= 0.3"\n')
    pol = load_policy(d)
    a = {**BASE_A, "delta_workers": 1}
    for price, verdict in ((0.1, "allow"), (0.09, "allow"), (0.10000000000000002, "deny")):
        s = {**BASE_S, "workers": 2, "price_per_worker_hour": price}
        assert 3 * dec(price) <= Fraction(3, 10) if verdict == "allow" else 3 * dec(price) > Fraction(3, 10)
        assert pol.check(s, a).verdict == pol.check_rego(s, a).verdict == verdict
