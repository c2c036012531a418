"""Policy core (shared by papers 05 and 11): one declarative rule language, two engines.

A *policy directory* holds ``schema.yaml`` (typed fields of the state and of the proposed action, plus
derived ``next.*`` fields that describe the state after the action) and one ``*.yaml`` file per rule::

    id: cost_ceiling
    effect: deny                      # deny | approval (a human must approve)
    description: hourly cost after the action stays under the ceiling
    when: "action.delta_workers > 0"  # optional guard, default true
    require: "next.cost_per_hour <= 40"

Expressions use a small, safe subset of Python syntax (numbers, strings, field names, ``+ - *``,
comparisons, ``and or not``, ``in [..]``, ``abs min max``). :func:`load_policy` parses every rule file
of the directory (so a new file is enforced on the next load, with no code change) and compiles the rules
once to **z3** (the primary engine, also able to answer "uncertain" when telemetry is missing) and to
**Rego**, evaluated offline by ``regopy`` for differential checking. Verdicts: ``allow``, ``escalate``
(an ``approval`` rule is violated, or z3 cannot decide because a field is unknown) and ``deny``.

Numbers (:mod:`support.policy.numbers`): every literal and input value is the exact rational of its shortest
decimal form (``3.2`` is 16/5, not the double nearest it), and ``+ - *`` and comparisons are exact, in both
engines: 15 workers at 3.2 USD/h cost exactly 48 USD/h and pass ``next.cost_per_hour <= 48``.

Public API (stable): :func:`load_policy`, :class:`Policy` (``check``, ``check_rego``, ``check_many``,
``check_rego_many``, ``rego_source``, ``sample_pairs``, ``rules``), :class:`Decision`, :class:`Rule`,
:class:`PolicyError`.
"""

from support.policy.engine import Decision, Policy, load_policy
from support.policy.language import Field, PolicyError, Rule, Schema

__all__ = ["Decision", "Field", "Policy", "PolicyError", "Rule", "Schema", "load_policy"]
