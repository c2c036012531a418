"""Policy engine: load a policy directory, decide (state, action) pairs with z3 and with Rego (regopy)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import z3

from support.policy.compile import literal_places, to_rego, to_z3, z3_value, z3_var
from support.policy.language import PolicyError, Rule, Schema, fields_used, load_rule, load_schema
from support.policy.numbers import decimal_places, decimal_value, scaled
from support.validate import is_int

VERDICTS = ("allow", "escalate", "deny")


@dataclass(frozen=True)
class Decision:
    """Verdict of one (state, action) pair: ``allow`` | ``escalate`` | ``deny``; the rules it violates
    (``violated``) and those it may violate given unknown fields (``uncertain``, z3 only)."""

    verdict: str
    violated: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    engine: str = "z3"

    @property
    def allowed(self) -> bool:
        return self.verdict == "allow"


class Policy:
    """A compiled rule set. ``check(state, action)`` uses z3; ``check_rego`` the Rego module via regopy."""

    def __init__(self, schema: Schema, rules: list[Rule], directory: Path | None = None):
        ids = [r.id for r in rules]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise PolicyError(f"duplicate rule ids {sorted(dup)} in {directory}")
        self.schema, self.rules, self.directory = schema, list(rules), directory
        self.package = "policy." + "".join(c if c.isalnum() else "_" for c in schema.name)
        self._vars = {n: z3_var(f) for n, f in schema.fields.items()}
        self._viol = [z3.And(to_z3(r.when, schema, self._vars), z3.Not(to_z3(r.require, schema, self._vars)))
                      for r in rules]
        self._mask = z3.Sum([z3.If(v, z3.IntVal(1 << i), z3.IntVal(0)) for i, v in enumerate(self._viol)]) \
            if rules else z3.IntVal(0)
        # declared ranges (sampling grids) bound only the fields that are missing from an input
        self._domain = {n: _domain(f, self._vars[n]) for n, f in schema.fields.items()}
        self._needs = [fields_used(r.when, schema) | fields_used(r.require, schema) for r in rules]
        self._rego_src = to_rego(schema, rules, self.package)
        self._places = literal_places(schema, rules)
        self._interp = None
        self._lits: dict = {}
        self._var_list = list(self._vars.items())
        # the keys each of state / action may carry (an undeclared one is refused by _validate)
        self._keys = {root: {n.split(".")[1] for n in schema.fields if n.startswith(root + ".")}
                      for root in ("state", "action")}

    # ------------------------------------------------------------------------------------ inputs
    def _validate(self, state: dict, action: dict, partial: bool) -> dict[str, object]:
        if not isinstance(state, dict) or not isinstance(action, dict):
            raise PolicyError("state and action must be dicts")
        for root, src in (("state", state), ("action", action)):
            unknown = sorted(set(src) - self._keys[root])
            if unknown:  # a misspelt key would otherwise be taken for missing telemetry
                raise PolicyError(f"{root} has keys the schema does not declare: {unknown}")
        vals: dict[str, object] = {}
        for name, f in self.schema.fields.items():
            root, key = name.split(".")
            src = state if root == "state" else action
            if key not in src or src[key] is None:
                if partial:
                    continue
                raise PolicyError(f"missing field {name!r}")
            v = src[key]
            if not _valid(f, v):
                raise PolicyError(f"field {name!r}: {v!r} is not a valid {f.type}"
                                  + (f" (one of {f.values})" if f.type == "enum" else ""))
            vals[name] = v
        return vals

    # ---------------------------------------------------------------------------------------- z3
    def check(self, state: dict, action: dict) -> Decision:
        """Decide with z3. Fields may be missing or None (unknown telemetry): a rule that could go either
        way over the unknown fields' domains is *uncertain* and the verdict is at least ``escalate``.
        Known values are constants, never bounded by their declared range (a value outside it, e.g. a
        change count above the grid's max, must not make the unknown fields' constraints unsatisfiable)."""
        vals = self._validate(state, action, partial=True)
        if len(vals) == len(self.schema.fields):
            return self._decide(self._eval_mask(vals), ())
        subs = [(self._vars[n], z3_value(self.schema.fields[n], v)) for n, v in vals.items()]
        sure, maybe = 0, []
        solver = z3.Solver()
        solver.add(*[c for n, cs in self._domain.items() if n not in vals for c in cs])
        for i, r in enumerate(self.rules):
            if self._needs[i] <= set(vals):
                v = z3.simplify(z3.substitute(self._viol[i], *subs))
                sure |= (1 << i) if z3.is_true(v) else 0
                continue
            vi = z3.substitute(self._viol[i], *subs) if subs else self._viol[i]
            can_violate = solver.check(vi) == z3.sat
            can_hold = solver.check(z3.Not(vi)) == z3.sat
            if can_violate and not can_hold:
                sure |= 1 << i
            elif can_violate:
                maybe.append(r.id)
        return self._decide(sure, tuple(maybe))

    def _lit(self, name: str, v) -> z3.ExprRef:
        key = (name, v)
        lit = self._lits.get(key)
        if lit is None:
            lit = self._lits[key] = z3_value(self.schema.fields[name], v)
        return lit

    def _eval_mask(self, vals: dict) -> int:
        # low-level Z3_substitute on the one decision term (all sorts are known to match: fast path)
        n = len(self._var_list)
        src, dst = (z3.Ast * n)(), (z3.Ast * n)()
        for i, (name, var) in enumerate(self._var_list):
            src[i] = var.as_ast()
            dst[i] = self._lit(name, vals[name]).as_ast()
        ctx = self._mask.ctx
        m = z3.simplify(z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), self._mask.as_ast(), n, src, dst), ctx))
        if not z3.is_int_value(m):  # pragma: no cover - all fields are bound
            raise PolicyError(f"z3 could not evaluate the policy to a value: {m}")
        return m.as_long()

    def _decide(self, mask: int, maybe: tuple[str, ...], engine: str = "z3") -> Decision:
        vio = tuple(r.id for i, r in enumerate(self.rules) if mask >> i & 1)
        eff = {r.id: r.effect for r in self.rules}
        if any(eff[v] == "deny" for v in vio):
            verdict = "deny"
        elif vio or maybe:
            verdict = "escalate"
        else:
            verdict = "allow"
        return Decision(verdict, vio, maybe, engine)

    def check_many(self, pairs) -> list[Decision]:
        """z3 decisions for a list of complete ``(state, action)`` pairs."""
        return [self._decide(self._eval_mask(self._validate(s, a, partial=False)), ()) for s, a in pairs]

    # -------------------------------------------------------------------------------------- Rego
    def rego_source(self) -> str:
        """The generated Rego v1 module (package ``policy.<schema name>``)."""
        return self._rego_src

    def _rego(self):
        if self._interp is None:
            from regopy import Interpreter
            it = Interpreter()
            it.add_module(self.package.replace(".", "_") + ".rego", self._rego_src)
            self._interp = it
        return self._interp

    def _query_pkg(self, inp: dict) -> dict:
        it = self._rego()
        it.set_input_term(json.dumps(inp))
        out = it.query("data." + self.package)  # query the package object: `allow`-style leaves may be undefined
        text = str(out)
        if text.startswith("undefined") or not text.startswith("{"):
            return {}
        exprs = json.loads(text).get("expressions") or [{}]
        return exprs[0] if isinstance(exprs[0], dict) else {}

    def check_rego(self, state: dict, action: dict) -> Decision:
        """Decide with the Rego module in regopy; an undefined decision counts as ``deny``. Inputs are checked as for
        z3 (a value outside its enum or type is an error, not a decision)."""
        self._validate(state, action, partial=True)
        pkg = self._query_pkg(self._rego_case(state, action))
        verdict = pkg.get("decision", "deny")
        return Decision(verdict if verdict in VERDICTS else "deny", tuple(pkg.get("violated") or ()), (), "rego")

    def check_rego_many(self, pairs) -> list[Decision]:
        """Rego decisions for many pairs in one query (``decisions`` over ``input.cases``)."""
        for s, a in pairs:
            self._validate(s, a, partial=False)
        cases = [self._rego_case(s, a) for s, a in pairs]
        pkg = self._query_pkg({"cases": cases})
        res = pkg.get("decisions")
        if not isinstance(res, list) or len(res) != len(cases):
            raise PolicyError(f"Rego returned no batch decisions for {len(cases)} cases")
        return [Decision(v if v in VERDICTS else "deny", tuple(vio), (), "rego") for v, vio in res]

    def _rego_case(self, state: dict, action: dict) -> dict:
        """The Rego input of one validated pair: reals as exact integers x * 10**E, E the most decimal places of
        any real in it or of the rules' literals, and ``num`` = {unit: 10**E, lit: 10**(E - literal places)}."""
        out: dict = {"state": {}, "action": {}}
        reals = {}
        for root, src in (("state", state), ("action", action)):
            for key, v in src.items():
                f = self.schema.fields[f"{root}.{key}"]
                if v is None:  # unknown telemetry: left out, so the module's complete(s) fails (deny)
                    continue
                if f.type == "real":
                    reals[root, key] = decimal_value(v)
                else:
                    out[root][key] = int(v) if f.type == "int" else bool(v) if f.type == "bool" else v
        e = max([self._places] + [decimal_places(q) for q in reals.values()])
        for (root, key), q in reals.items():
            out[root][key] = scaled(q, e)
        out["num"] = {"unit": 10 ** e, "lit": 10 ** (e - self._places)}
        return out

    # ------------------------------------------------------------------------------------ helpers
    def sample_pairs(self, n: int, rng: np.random.Generator) -> list[tuple[dict, dict]]:
        """``n`` random complete (state, action) pairs drawn uniformly on each field's declared grid."""
        cols = {}
        for name, f in self.schema.fields.items():
            if f.type == "enum":
                cols[name] = [f.values[i] for i in rng.integers(0, len(f.values), n)]
            elif f.type == "bool":
                cols[name] = [bool(x) for x in rng.integers(0, 2, n)]
            else:  # grid points lo + i * step computed exactly on decimals (0.1 * 3 is 0.3, not 0.30000000000000004)
                lo, step = decimal_value(f.lo), decimal_value(f.step)
                k = int((decimal_value(f.hi) - lo) // step)
                g = [lo + step * int(i) for i in rng.integers(0, k + 1, n)]
                cols[name] = [int(x) for x in g] if f.type == "int" else [float(x) for x in g]
        pairs = []
        for j in range(n):
            s, a = {}, {}
            for name, col in cols.items():
                root, key = name.split(".")
                (s if root == "state" else a)[key] = col[j]
            pairs.append((s, a))
        return pairs

    def describe(self):
        """The rule table (id, effect, when, require, file) as a list of dicts, for the notebook."""
        return [{"id": r.id, "effect": r.effect, "when": r.when_src, "require": r.require_src,
                 "description": r.description, "file": Path(r.source).name} for r in self.rules]


def _valid(f, x) -> bool:
    if f.type == "int":
        return is_int(x)
    if f.type == "real":
        if not isinstance(x, (int, float, np.integer, np.floating)) or isinstance(x, bool):
            return False
        try:
            return math.isfinite(float(x))
        except OverflowError:  # an int beyond any float
            return False
    if f.type == "bool":
        return isinstance(x, (bool, np.bool_))
    return isinstance(x, str) and x in f.values


def _domain(f, v) -> list:
    if f.type in ("int", "real"):
        return [v >= z3_value(f, f.lo if f.type == "real" else int(f.lo)),
                v <= z3_value(f, f.hi if f.type == "real" else int(f.hi))]
    if f.type == "enum":
        return [z3.Or(*[v == z3.StringVal(x) for x in f.values])]
    return []


def load_policy(directory) -> Policy:
    """Load ``schema.yaml`` and every other ``*.yaml``/``*.yml`` rule file of ``directory`` (sorted by name)."""
    d = Path(directory)
    if not d.is_dir():
        raise PolicyError(f"policy directory {d} does not exist")
    schema_path = d / "schema.yaml"
    if not schema_path.is_file():
        raise PolicyError(f"{d}: no schema.yaml")
    schema = load_schema(schema_path)
    files = sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and p.name != "schema.yaml")
    if not files:
        raise PolicyError(f"{d}: no rule files (*.yaml) beside schema.yaml")
    return Policy(schema, [load_rule(p, schema) for p in files], d)
