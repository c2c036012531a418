"""support.policy.language: malformed schemas and rules are refused with one PolicyError naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.policy import PolicyError, load_policy

SCHEMA = """name: toy
fields:
  state.x: {type: enum, values: [b, c]}
  state.y: {type: int, min: 0, max: 4}
derived:
  next.x: "state.x"
"""


def _policy_dir(tmp_path: Path, rule: str, schema: str = SCHEMA) -> Path:
    d = tmp_path / "pol"
    d.mkdir()
    (d / "schema.yaml").write_text(schema)
    (d / "r.yaml").write_text(rule)
    return d


def test_a_derived_field_that_refers_to_itself_is_refused(tmp_path):
    schema = SCHEMA + '  next.y: "next.y + 1"\n'
    with pytest.raises(PolicyError, match="unknown field 'next.y'"):
        load_policy(_policy_dir(tmp_path, 'id: r\nrequire: "state.y < 3"\n', schema))


def test_a_derived_field_may_use_an_earlier_one(tmp_path):
    schema = SCHEMA + '  next.y: "state.y + 1"\n  next.z: "next.y * 2"\n'
    pol = load_policy(_policy_dir(tmp_path, 'id: r\nrequire: "next.z <= 8"\n', schema))
    assert pol.check({"x": "b", "y": 3}, {}).allowed        # (3 + 1) * 2 = 8
    assert pol.check({"x": "b", "y": 4}, {}).violated == ("r",)  # 10 > 8


@pytest.mark.parametrize("expr", [
    "state.x in ['a']",
    "state.x not in ['b', 'a']",
    "state.x == 'a'",
    "'a' != state.x",
    "next.x == 'a'",  # through a derived field
])
def test_a_quoted_value_outside_the_enum_is_refused(tmp_path, expr):
    with pytest.raises(PolicyError, match=r"'a' is not a value of enum state\.x \(one of \['b', 'c'\]\)"):
        load_policy(_policy_dir(tmp_path, f'id: r\nrequire: "{expr}"\n'))


@pytest.mark.parametrize("expr, ok_for_b", [
    ("state.x in ['b']", True),
    ("state.x not in ['b', 'c']", False),
    ("state.x == 'c'", False),
    ("'c' != next.x", True),
])
def test_quoted_values_inside_the_enum_load_and_decide(tmp_path, expr, ok_for_b):
    pol = load_policy(_policy_dir(tmp_path, f'id: r\nrequire: "{expr}"\n'))
    assert pol.check({"x": "b", "y": 0}, {}).allowed is ok_for_b
    assert pol.check_rego({"x": "b", "y": 0}, {}).allowed is ok_for_b
