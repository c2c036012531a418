"""The batch pipeline's real data and transforms: TPC-H from ``tpchgen-cli``, five stages run in DuckDB.

Stages (Section 1.2 of the implementer notes, reconstructed from the paper's abstract): ingest (CSV ->
tables), schema-validate (columns, types, required non-null), transform/join (lineitem x orders x customer
x nation), aggregate (revenue per nation and year, TPC-H Q5-like), load (insert into a fixed-schema
warehouse table). :func:`profile_stages` times each stage; the simulator scales those seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

STAGES = ("ingest", "schema_validate", "transform_join", "aggregate", "load")
TABLES = ("lineitem", "orders", "customer", "nation")

# the contract the validate stage enforces on lineitem (column -> DuckDB type family); all are required
LINEITEM_CONTRACT = {"l_orderkey": "BIGINT", "l_partkey": "BIGINT", "l_suppkey": "BIGINT", "l_linenumber": "BIGINT",
                     "l_quantity": "BIGINT", "l_extendedprice": "DECIMAL", "l_discount": "DECIMAL",
                     "l_tax": "DECIMAL", "l_returnflag": "VARCHAR", "l_linestatus": "VARCHAR",
                     "l_shipdate": "DATE", "l_commitdate": "DATE", "l_receiptdate": "DATE",
                     "l_shipinstruct": "VARCHAR", "l_shipmode": "VARCHAR", "l_comment": "VARCHAR"}
NUMERIC = ("BIGINT", "INTEGER", "DECIMAL", "DOUBLE")


class TpchError(RuntimeError):
    """tpchgen-cli is missing or failed; the message says which binary and what it printed."""


def tpchgen_binary() -> Path:
    """``tpchgen-cli`` next to this interpreter (the venv's bin folder), else on PATH."""
    here = Path(sys.executable).parent / "tpchgen-cli"
    if here.is_file():
        return here
    found = shutil.which("tpchgen-cli")
    if found:
        return Path(found)
    raise TpchError(f"tpchgen-cli not found next to {sys.executable} or on PATH (pip install tpchgen-cli)")


def generate(sf: float = 0.01, cache_dir: Path | None = None) -> Path:
    """CSV files of the TPC-H tables at scale factor ``sf`` (generated once into a cache folder)."""
    if not 0 < sf <= 1:
        raise ValueError(f"scale factor must be in (0, 1] for this pipeline, got {sf}")
    root = Path(cache_dir or os.environ.get("PAPER_REPRO_CACHE", tempfile.gettempdir())) / "paper_repro_tpch"
    out = root / f"sf{sf:g}"
    if all((out / f"{t}.csv").is_file() for t in TABLES):
        return out
    tmp = root / f".sf{sf:g}.{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    cmd = [str(tpchgen_binary()), "csv", "-s", f"{sf:g}", f"--output-dir={tmp}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if res.returncode != 0 or not all((tmp / f"{t}.csv").is_file() for t in TABLES):
        shutil.rmtree(tmp, ignore_errors=True)
        raise TpchError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()[:500]}")
    try:
        tmp.rename(out)
    except OSError:  # another process won the race: its complete folder is already there
        shutil.rmtree(tmp, ignore_errors=True)
        if not out.is_dir():
            raise
    return out


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 1")
    return con


def ingest(con, data_dir: Path) -> None:
    for t in TABLES:
        con.execute(f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM read_csv_auto('{data_dir / (t + '.csv')}')")


def column_types(con, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _family(t: str) -> str:
    t = t.upper()
    if t.startswith("DECIMAL") or t in ("DOUBLE", "FLOAT", "REAL"):
        return "DECIMAL"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "HUGEINT"):
        return "BIGINT"
    return t


def validate(con, table: str = "lineitem", contract: dict | None = None) -> list[tuple[str, str, str]]:
    """Schema issues of ``table`` against the contract: (``missing`` | ``extra`` | ``type``, column, detail)."""
    contract = LINEITEM_CONTRACT if contract is None else contract
    have = column_types(con, table)
    issues = [("missing", c, t) for c, t in contract.items() if c not in have]
    issues += [("extra", c, have[c]) for c in have if c not in contract]
    issues += [("type", c, f"{contract[c]} -> {have[c]}") for c in contract
               if c in have and _family(have[c]) != contract[c]]
    if not any(i[0] == "missing" for i in issues):
        nulls = con.execute(f"SELECT count(*) FROM {table} WHERE " + " OR ".join(
            f"{c} IS NULL" for c in contract if c in have)).fetchone()[0]
        if nulls:
            issues.append(("nulls", "*", str(nulls)))
    return issues


def transform_join(con) -> None:
    con.execute("""CREATE OR REPLACE TABLE enriched AS
        SELECT n.n_name AS nation, year(o.o_orderdate) AS yr, l.l_extendedprice * (1 - l.l_discount) AS revenue,
               l.l_quantity AS qty, l.l_shipmode AS shipmode
        FROM lineitem l JOIN orders o ON l.l_orderkey = o.o_orderkey
        JOIN customer c ON o.o_custkey = c.c_custkey JOIN nation n ON c.c_nationkey = n.n_nationkey""")


def aggregate(con) -> None:
    con.execute("""CREATE OR REPLACE TABLE agg AS
        SELECT nation, yr, sum(revenue) AS revenue, sum(qty) AS qty, count(*) AS lines
        FROM enriched GROUP BY nation, yr""")


def load(con) -> int:
    con.execute("""CREATE TABLE IF NOT EXISTS warehouse (nation VARCHAR, yr BIGINT, revenue DOUBLE,
                   qty DOUBLE, lines BIGINT)""")
    con.execute("INSERT INTO warehouse SELECT * FROM agg")
    return con.execute("SELECT count(*) FROM warehouse").fetchone()[0]


@dataclass(frozen=True)
class StageProfile:
    """Median wall seconds of each stage over repetitions, and the rows the pipeline produced."""

    stages: tuple[str, ...]
    seconds: tuple[float, ...]
    rows_lineitem: int
    rows_loaded: int
    sf: float

    def fractions(self) -> np.ndarray:
        s = np.asarray(self.seconds)
        return s / s.sum()


def run_pipeline(data_dir: Path, con=None) -> tuple[dict[str, float], object]:
    """One real run of the five stages; returns seconds per stage and the connection."""
    con = con or connect()
    sec = {}
    t = time.perf_counter()
    ingest(con, data_dir)
    sec["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    issues = validate(con)
    if issues:
        raise ValueError(f"schema validation failed: {issues}")
    sec["schema_validate"] = time.perf_counter() - t
    for name, fn in (("transform_join", transform_join), ("aggregate", aggregate), ("load", load)):
        t = time.perf_counter()
        fn(con)
        sec[name] = time.perf_counter() - t
    return sec, con


def profile_stages(sf: float = 0.01, reps: int = 3, cache_dir: Path | None = None) -> StageProfile:
    """Generate TPC-H at ``sf`` and time every stage ``reps`` times (median)."""
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    d = generate(sf, cache_dir)
    runs, con = [], None
    for _ in range(reps):
        sec, con = run_pipeline(d)
        runs.append([sec[s] for s in STAGES])
    n_li = con.execute("SELECT count(*) FROM lineitem").fetchone()[0]
    n_wh = con.execute("SELECT count(*) FROM warehouse").fetchone()[0]
    return StageProfile(STAGES, tuple(float(x) for x in np.median(runs, axis=0)), int(n_li), int(n_wh), sf)
