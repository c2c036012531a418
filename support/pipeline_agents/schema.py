"""Schema drift applied for real to the TPC-H tables in DuckDB, and the schema agent's reconciliation.

Drift kinds (paper abstract: "schema reconciliation"; kinds from the implementer notes): ``rename`` (a
column renamed upstream), ``add`` (a new column; PII or not), ``type_change`` (a numeric column arrives as
text), ``drop_required`` (a required column disappears). :func:`drift_outcomes` applies each to a fresh
copy of the data, runs validation, lets the schema agent choose an action from its menu (map renamed
column by name similarity, add a nullable column, cast back when lossless, drop a column), executes it,
and re-runs the downstream transform to prove the fix. The simulator replays these outcomes.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from support.pipeline_agents import tpch

DRIFTS = ("rename", "add", "add_pii", "type_change", "drop_required")
PII_PATTERN = re.compile(r"(email|phone|ssn|address|birth|passport|name$)", re.IGNORECASE)


@dataclass(frozen=True)
class Reconciliation:
    """What the schema agent proposes for one drift, and whether it fixed the pipeline for real."""

    drift: str
    issues: tuple
    action: str  # map_column | add_column | cast_column | drop_column | none
    writes_pii: bool
    drops_required: bool
    fixed: bool  # after executing the action, validation passes and the downstream transform runs
    seconds: float


DRIFT_SQL = {  # drift -> (DuckDB statement applied to lineitem, description of the change)
    "rename": ("ALTER TABLE lineitem RENAME COLUMN l_shipmode TO l_ship_mode", "l_shipmode renamed to l_ship_mode"),
    "add": ("ALTER TABLE lineitem ADD COLUMN l_source_system VARCHAR DEFAULT 'erp-2'", "new column l_source_system"),
    "add_pii": ("ALTER TABLE lineitem ADD COLUMN l_customer_email VARCHAR DEFAULT 'x@example.com'",
                "new column l_customer_email (PII)"),
    "type_change": ("ALTER TABLE lineitem ALTER COLUMN l_quantity TYPE VARCHAR", "l_quantity arrives as VARCHAR"),
    "drop_required": ("ALTER TABLE lineitem DROP COLUMN l_discount", "required column l_discount dropped"),
}
assert tuple(DRIFT_SQL) == DRIFTS


def apply_drift(con, drift: str) -> str:
    """Mutate ``lineitem`` in place; returns a description of the change."""
    if drift not in DRIFT_SQL:
        raise ValueError(f"unknown drift {drift!r}; expected one of {DRIFTS}")
    sql, description = DRIFT_SQL[drift]
    con.execute(sql)
    return description


def reconcile(con, issues) -> tuple[str, bool, bool, list[str]]:
    """The schema agent's bounded choice: ``(action, writes_pii, drops_required, sql)`` for the issues."""
    missing = [c for k, c, _ in issues if k == "missing"]
    extra = [c for k, c, _ in issues if k == "extra"]
    typed = [(c, d) for k, c, d in issues if k == "type"]
    if missing and extra:
        for m in missing:
            best = max(extra, key=lambda e: difflib.SequenceMatcher(None, m, e).ratio())
            if difflib.SequenceMatcher(None, m, best).ratio() >= 0.8:
                return "map_column", False, False, [f"ALTER TABLE lineitem RENAME COLUMN {best} TO {m}"]
    if missing:  # no look-alike: the pipeline would have to drop the required column from the contract
        return "drop_column", False, True, []
    if typed:
        sql = []
        for c, d in typed:
            want = d.split(" -> ")[0]
            lost = con.execute(f"SELECT count(*) FROM lineitem WHERE {c} IS NOT NULL AND "
                               f"TRY_CAST({c} AS {want}) IS NULL").fetchone()[0]
            if lost:
                return "none", False, False, []
            sql.append(f"ALTER TABLE lineitem ALTER COLUMN {c} TYPE {want} USING TRY_CAST({c} AS {want})")
        return "cast_column", False, False, sql
    if extra:  # keep the new columns, nullable, and extend the contract
        return "add_column", any(PII_PATTERN.search(e) for e in extra), False, []
    return "none", False, False, []


def drift_outcomes(data_dir: Path) -> pd.DataFrame:
    """Apply every drift kind to a fresh ingest, reconcile, and check the fix by running the transform."""
    rows = []
    for drift in DRIFTS:
        con = tpch.connect()
        tpch.ingest(con, data_dir)
        apply_drift(con, drift)
        t = time.perf_counter()
        issues = tpch.validate(con)
        action, pii, drops, sql = reconcile(con, issues)
        for s in sql:
            con.execute(s)
        contract = dict(tpch.LINEITEM_CONTRACT)
        if action == "add_column":
            contract.update({c: tpch.column_types(con, "lineitem")[c] for k, c, _ in issues if k == "extra"})
        fixed = False
        if action in ("map_column", "cast_column", "add_column"):
            try:
                fixed = not tpch.validate(con, contract=contract)
                tpch.transform_join(con)
            except duckdb.Error:  # the real transform fails on the reconciled table: "not fixed" (a bug raises)
                fixed = False
        rows.append(Reconciliation(drift, tuple(issues), action, pii, drops, fixed, time.perf_counter() - t))
        con.close()
    return pd.DataFrame([r.__dict__ for r in rows])
