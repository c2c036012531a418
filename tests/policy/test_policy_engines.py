"""support.policy: z3 and Rego (regopy) agree; both match a hand-written oracle of the documented rules."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from support.policy import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "data" / "pipeline_agents" / "policies"


@pytest.fixture(scope="module")
def policy():
    return load_policy(POLICIES)


def oracle(s: dict, a: dict) -> tuple[str, set[str]]:
    """The six rule files written out by hand in plain Python (independent of the compiler)."""
    workers = s["workers"] + a["delta_workers"]
    cost = workers * s["price_per_worker_hour"] * a["price_factor"] * a["memory_factor"]
    v = set()
    if (a["delta_workers"] > 0 or a["memory_factor"] > 1 or a["price_factor"] > 1) and cost > 48:
        v.add("cost_ceiling")
    if not 1 <= workers <= 24:
        v.add("max_workers")
    if a["target_region"] not in ("eu-west", "eu-central"):
        v.add("data_residency")
    if a["writes_pii"] and not s["sink_pii_certified"]:
        v.add("pii_sink")
    if a["drops_required"]:
        v.add("drop_required")
    if a["kind"] not in ("noop", "restart_checkpoint", "retry") and s["changes_last_hour"] >= 6:
        v.add("change_rate")
    if v & {"cost_ceiling", "max_workers", "data_residency", "pii_sink"}:
        return "deny", v
    return ("escalate" if v else "allow"), v


def test_z3_and_rego_agree_on_10000_random_pairs(policy):
    pairs = policy.sample_pairs(10_000, np.random.default_rng(2025))
    z = policy.check_many(pairs)
    r = []
    for i in range(0, len(pairs), 2500):
        r += policy.check_rego_many(pairs[i:i + 2500])
    mismatches = [i for i, (a, b) in enumerate(zip(z, r)) if (a.verdict, a.violated) != (b.verdict, b.violated)]
    assert mismatches == []
    counts = Counter(d.verdict for d in z)
    assert min(counts[v] for v in ("allow", "escalate", "deny")) >= 50  # every verdict is exercised
    for rule in policy.rules:  # every rule is both violated and satisfied somewhere
        hits = sum(rule.id in d.violated for d in z)
        assert 0 < hits < len(z)


def test_random_pairs_cover_every_declared_grid_value_from_min_to_max(policy):
    """sample_pairs draws each field uniformly on its declared grid, ends included: 5,000 pairs hit every value of
    state.workers 0..64 (65 values), memory_factor 1, 1.25, ..., 4 (13) and every enum and bool value (the grids read
    here from schema.yaml itself, not from the engine)."""
    import yaml

    spec = yaml.safe_load((POLICIES / "schema.yaml").read_text())["fields"]
    pairs = policy.sample_pairs(5000, np.random.default_rng(7))
    for name, f in spec.items():
        root, key = name.split(".")
        got = {(s if root == "state" else a)[key] for s, a in pairs}
        if f["type"] == "enum":
            want = set(f["values"])
        elif f["type"] == "bool":
            want = {False, True}
        else:
            step = f.get("step", 1 if f["type"] == "int" else 0.125)
            want = set(np.arange(f["min"], f["max"] + step / 2, step).tolist())
        assert got == want, name


def test_both_engines_match_hand_written_oracle(policy):
    pairs = policy.sample_pairs(1500, np.random.default_rng(7))
    z = policy.check_many(pairs)
    r = policy.check_rego_many(pairs)
    for (s, a), dz, dr in zip(pairs, z, r):
        verdict, vio = oracle(s, a)
        assert (dz.verdict, set(dz.violated)) == (verdict, vio)
        assert (dr.verdict, set(dr.violated)) == (verdict, vio)


BASE_S = {"workers": 8, "price_per_worker_hour": 0.5, "region": "eu-west", "changes_last_hour": 0,
          "sink_pii_certified": False}
BASE_A = {"kind": "scale", "delta_workers": 4, "memory_factor": 1.0, "price_factor": 1.0,
          "target_region": "eu-west", "writes_pii": False, "drops_required": False}


@pytest.mark.parametrize("change, verdict, rules", [
    ({}, "allow", ()),                                                     # 12 workers x 0.5 = 6 USD/h
    ({"delta_workers": 17}, "deny", ("max_workers",)),                     # 25 workers > 24
    ({"delta_workers": 16, "price_factor": 4.0}, "deny", ("cost_ceiling",)),  # 24 x 2 = 48: at the ceiling...
    ({"delta_workers": 16, "price_factor": 4.0, "memory_factor": 1.25}, "deny", ("cost_ceiling",)),  # 60 > 48
    ({"target_region": "us-east"}, "deny", ("data_residency",)),
    ({"writes_pii": True}, "deny", ("pii_sink",)),
    ({"drops_required": True}, "escalate", ("drop_required",)),
])
def test_known_answers(policy, change, verdict, rules):
    a = {**BASE_A, **change}
    if change == {"delta_workers": 16, "price_factor": 4.0}:
        verdict, rules = "allow", ()  # exactly 48 USD/h is allowed (<=): boundary semantics agree
    for d in (policy.check(BASE_S, a), policy.check_rego(BASE_S, a)):
        assert (d.verdict, d.violated) == (verdict, rules)


def test_change_rate_escalates_but_noop_is_exempt(policy):
    s = {**BASE_S, "changes_last_hour": 6}
    assert policy.check(s, BASE_A).verdict == "escalate"
    assert policy.check(s, {**BASE_A, "kind": "noop", "delta_workers": 0}).verdict == "allow"


def test_unknown_telemetry_makes_z3_uncertain_and_rego_deny(policy):
    s = dict(BASE_S)
    del s["sink_pii_certified"]
    d = policy.check(s, {**BASE_A, "writes_pii": True})  # outcome depends on the unknown field
    assert d.verdict == "escalate" and d.uncertain == ("pii_sink",)
    d2 = policy.check(s, BASE_A)  # pii rule cannot fire without writes_pii: still decidable
    assert d2.verdict == "allow" and d2.uncertain == ()
    assert policy.check_rego(s, BASE_A).verdict == "deny"  # incomplete input: undefined is treated as deny


def test_new_rule_file_is_enforced_without_code_change(tmp_path, policy):
    d = tmp_path / "pol"
    shutil.copytree(POLICIES, d)
    a = {**BASE_A, "kind": "raise_memory", "delta_workers": 0, "memory_factor": 3.0}
    assert policy.check(BASE_S, a).verdict == "allow"
    (d / "memory_cap.yaml").write_text('id: memory_cap\neffect: deny\nrequire: "action.memory_factor <= 2"\n')
    p2 = load_policy(d)
    assert p2.check(BASE_S, a).violated == ("memory_cap",)
    assert p2.check_rego(BASE_S, a).verdict == "deny"


@pytest.mark.parametrize("delta, violated", [(-2, False), (-6, True), (3, False)])
def test_min_and_max_of_negative_operands_agree_in_z3_rego_and_python(tmp_path, delta, violated):
    """regopy's built-in max([-3, -1]) returns -3: compiled to it, this rule escalated delta -2 in Rego while z3
    and plain Python allowed it. The compiler now emits its own two-argument min/max."""
    d = tmp_path / "pol"
    shutil.copytree(POLICIES, d)
    (d / "shrink_cap.yaml").write_text('id: shrink_cap\neffect: approval\n'
                                       'require: "max(action.delta_workers, -8) >= -4 and min(action.delta_workers, -1) <= -1"\n')
    p2 = load_policy(d)
    a = {**BASE_A, "delta_workers": delta}
    assert (max(delta, -8) < -4) == violated  # the rule by hand (min(..., -1) <= -1 always holds)
    z, r = p2.check(BASE_S, a), p2.check_rego(BASE_S, a)
    assert ("shrink_cap" in z.violated) == violated and ("shrink_cap" in r.violated) == violated
    assert z.verdict == r.verdict


@pytest.mark.parametrize("text, msg", [
    ('id: r\nrequire: "state.workers / 2 < 3"\n', "division"),
    ('id: r\nrequire: "state.nope < 3"\n', "unknown field"),
    ('id: r\neffect: maybe\nrequire: "state.workers < 3"\n', "effect"),
    ('id: r\nrequire: "state.workers + 1"\n', "boolean"),
    ('id: r\nrequire: "state.region < 3"\n', "compare"),
    ('id: r\nrequire: "__import__(1)"\n', "functions"),
    ("id: [unclosed\n", "YAML"),
])
def test_malformed_rule_files_raise_one_clear_error(tmp_path, text, msg):
    d = tmp_path / "pol"
    shutil.copytree(POLICIES, d)
    (d / "bad.yaml").write_text(text)
    with pytest.raises(PolicyError, match=msg):
        load_policy(d)


def test_bad_inputs_raise(policy, tmp_path):
    with pytest.raises(PolicyError, match="workers"):
        policy.check({**BASE_S, "workers": "many"}, BASE_A)
    with pytest.raises(PolicyError, match="kind"):
        policy.check(BASE_S, {**BASE_A, "kind": "reboot_universe"})
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "missing")


# ------------------------------------------------------------------ unknown fields vs brute force

def _grid(f) -> list:
    """Every value of a field's declared sampling grid (enum values, both booleans, lo..hi by step)."""
    if f.type == "enum":
        return list(f.values)
    if f.type == "bool":
        return [False, True]
    k = int(np.floor((f.hi - f.lo) / f.step + 1e-9))
    return [int(f.lo + f.step * i) if f.type == "int" else f.lo + f.step * i for i in range(k + 1)]


def brute_force(policy, s: dict, a: dict, missing: str) -> tuple[str, set[str], set[str]]:
    """Enumerate the missing field over its grid with the hand-written oracle: a rule violated for every
    value is violated, for some values only it is uncertain (independent of z3)."""
    root, key = missing.split(".")
    outcomes = []
    for v in _grid(policy.schema.fields[missing]):
        s2, a2 = dict(s), dict(a)
        (s2 if root == "state" else a2)[key] = v
        outcomes.append(oracle(s2, a2)[1])
    sure = set.intersection(*outcomes)
    maybe = set.union(*outcomes) - sure
    if sure & {"cost_ceiling", "max_workers", "data_residency", "pii_sink"}:
        return "deny", sure, maybe
    return ("escalate" if sure or maybe else "allow"), sure, maybe


def _without(s: dict, a: dict, missing: str) -> tuple[dict, dict]:
    root, key = missing.split(".")
    s2, a2 = dict(s), dict(a)
    del (s2 if root == "state" else a2)[key]
    return s2, a2


@pytest.mark.parametrize("missing, change", [
    # a known memory_factor above its declared max (4) used to make every missing-field rule vacuous
    ("state.price_per_worker_hour", {"kind": "raise_memory", "delta_workers": 0, "memory_factor": 4.0}),
    ("state.price_per_worker_hour", {"kind": "raise_memory", "delta_workers": 0, "memory_factor": 8.0}),
    # a known change count above its declared max (12) dropped the uncertain PII rule
    ("action.writes_pii", {"kind": "map_column", "delta_workers": 0, "changes_last_hour": 12}),
    ("action.writes_pii", {"kind": "map_column", "delta_workers": 0, "changes_last_hour": 13}),
])
def test_known_values_outside_their_grid_keep_unknown_fields_uncertain(policy, missing, change):
    s = {**BASE_S, **{k: v for k, v in change.items() if k in BASE_S}}
    a = {**BASE_A, **{k: v for k, v in change.items() if k in BASE_A}}
    s, a = _without(s, a, missing)
    d = policy.check(s, a)
    verdict, sure, maybe = brute_force(policy, s, a, missing)
    assert maybe  # the unknown field decides a rule: the check must say so
    assert (d.verdict, set(d.violated), set(d.uncertain)) == (verdict, sure, maybe)


def test_one_unknown_field_matches_brute_force_even_off_grid(policy):
    rng = np.random.default_rng(11)
    off_grid = [("state", "changes_last_hour", 20), ("action", "memory_factor", 6.0), ("state", "workers", 100),
                ("state", "price_per_worker_hour", 5.0), ("action", "delta_workers", 40), (None, None, None)]
    names = list(policy.schema.fields)
    for i, (s, a) in enumerate(policy.sample_pairs(240, rng)):
        root, key, value = off_grid[i % len(off_grid)]
        if root is not None:
            (s if root == "state" else a)[key] = value
        missing = names[int(rng.integers(len(names)))]
        if missing.split(".")[1] == key:
            continue
        s, a = _without(s, a, missing)
        d = policy.check(s, a)
        assert (d.verdict, set(d.violated), set(d.uncertain)) == brute_force(policy, s, a, missing), (s, a, missing)


def test_inputs_either_decide_alike_in_both_engines_or_raise_one_policy_error(policy, tmp_path):
    """np.float32 crashed z3 with a TypeError; a misspelt key was taken for missing telemetry (z3 escalated, Rego
    denied); Rego allowed region 'mars', which z3 refused; 10**400 as a real raised OverflowError."""
    import numpy as np

    s32 = {**BASE_S, "price_per_worker_hour": np.float32(0.5)}
    assert policy.check(s32, BASE_A).verdict == policy.check_rego(s32, BASE_A).verdict == "allow"
    bad = [({**BASE_S, "worker": 8}, BASE_A, r"state has keys the schema does not declare: \['worker'\]"),
           ({**BASE_S, "region": "mars"}, BASE_A, "region"),
           ({**BASE_S, "price_per_worker_hour": 10**400}, BASE_A, "price_per_worker_hour")]
    for s, a, msg in bad:
        for check in (policy.check, policy.check_rego):
            with pytest.raises(PolicyError, match=msg):
                check(s, a)
        with pytest.raises(PolicyError, match=msg):
            policy.check_rego_many([(s, a)])
    d = tmp_path / "pol"
    shutil.copytree(POLICIES, d)
    (d / "big.yaml").write_text('id: big\nrequire: "state.workers < 1e400"\n')
    with pytest.raises(PolicyError, match="not a finite number"):
        load_policy(d)
    (d / "big.yaml").write_text('id: größe\nrequire: "state.workers < 3"\n')
    with pytest.raises(PolicyError, match="ASCII identifier"):
        load_policy(d)
