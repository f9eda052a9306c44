"""Columns a DuckDB table or a bundle may lack, and the SQL that fills them.

A column is added to the schema now and then (TtftMs, the Hooks* counts, Repository). A
DuckDB file or a bundle written before it lacks it, while the query pack reads it. Every
such column can be computed from what the row does hold, as ClickHouse's DEFAULT computes
it for a stock Collector's rows: a promoted column from its attribute, a derived one
(model/schema.py's DERIVED) from the maps. So:

- a file opened to write gets `ALTER TABLE … ADD COLUMN` and one `UPDATE` that fills it
  (`upgrade`, once; Repository took 2.6 s on a 1M-event file of bench/queries.py, 27.6 s and
  a peak RSS of 715 MB on a 10M one, and grew that file 810 → 1,080 MB);
- a file opened read-only, which cannot be altered, is read through temporary views that
  compute what it lacks (`compat_views`, made on every connection that queries it);
- a bundle's Parquet files are read with the same expressions (`storage/bundle.py`).

A LOCAL column (SeriesKey, DuckDB's hash() of a series) can also be stale: DuckDB does not
promise the same hash() across versions. `stale` compares a sample of stored keys with what
this DuckDB computes; a file opened to write gets them all recomputed (one `UPDATE`), a
read-only one is read through a view that computes them.

Derived columns are also what the DuckDB store's INSERT adds to each flush (`derived_sql`):
computed from the sanitized maps, as ClickHouse's DEFAULT computes them, so a policy that
hashes or drops a repository attribute holds for the column too.
"""

from __future__ import annotations

import functools

import duckdb

from otelcap.model.schema import (
    DERIVED,
    LOCAL,
    PROMOTED_LOG,
    PROMOTED_METRIC,
    PROMOTED_SPAN,
    TABLES,
)
from otelcap.storage.base import ddl_statements

# The project label's sources, in order: what Claude Code sends with
# OTEL_METRICS_INCLUDE_REPOSITORY=true, on the record or on its resource. A missing map key
# is NULL on DuckDB ('' on ClickHouse, whose DEFAULT in schema/clickhouse/otel_logs.sql reads
# the same four); nullif(…, '') makes an empty value absent too.
_REPOSITORY = (
    "coalesce("
    "nullif(\"LogAttributes\"['vcs.repository.name'], ''), "
    "nullif(\"ResourceAttributes\"['vcs.repository.name'], ''), "
    "nullif(\"LogAttributes\"['vcs.repository.url.full'], ''), "
    "nullif(\"ResourceAttributes\"['vcs.repository.url.full'], ''), '')"
)
# DuckDB's hash() of the four: the same expression on every path that computes it, since
# keys of two expressions would split a series (model/schema.py's LOCAL).
_SERIES_KEY = 'hash("MetricName", "ServiceName", "ResourceAttributes", "Attributes")'
_DERIVED: dict[str, dict[str, str]] = {
    "otel_logs": {"Repository": _REPOSITORY},
    "otel_metrics_sum": {"SeriesKey": _SERIES_KEY},
}
if {t: list(cols) for t, cols in _DERIVED.items()} != {
    t: [c for c, _ in cols] for t, cols in DERIVED.items()
}:
    raise ImportError("storage/upgrade.py has no DuckDB expression for a derived column")

# table → (its attribute map, its promoted columns), as model/claude.py promotes them
_PROMOTED_FROM = {
    "otel_logs": ("LogAttributes", PROMOTED_LOG),
    "otel_traces": ("SpanAttributes", PROMOTED_SPAN),
    **{t: ("Attributes", PROMOTED_METRIC) for t in TABLES if t.startswith("otel_metrics_")},
}
# As ClickHouse's DEFAULTs read a promoted attribute: text as sent, numbers that do not parse
# NULL, booleans from "true"/"false".
_CAST = {"int": "BIGINT", "int32": "INTEGER", "float": "DOUBLE"}


def derived_sql(table: str) -> dict[str, str]:
    """column → DuckDB expression over the row's maps, for the columns the store derives."""
    return _DERIVED.get(table, {})


def fill_sql(table: str, column: str, duck_type: str) -> str:
    """A DuckDB expression giving `column` from a row that lacks it."""
    derived = derived_sql(table).get(column)
    if derived:
        return derived
    map_col, spec = _PROMOTED_FROM.get(table, ("", []))
    for col, key, kind in spec:
        if col == column:
            value = f"\"{map_col}\"['{key}']"
            if kind == "str":
                return f"coalesce({value}, '')"
            if kind == "bool":
                return f"CASE lower({value}) WHEN 'true' THEN true WHEN 'false' THEN false END"
            return f"TRY_CAST({value} AS {_CAST[kind]})"
    return f"CAST(NULL AS {duck_type})"


@functools.cache
def column_types() -> dict[str, dict[str, str]]:
    """table → {column: DuckDB type} as schema/duckdb declares them (read only when a file
    lacks a column: creating the tables in memory costs a few ms)."""
    con = duckdb.connect(":memory:")
    try:
        out = {}
        for table, ddl in ddl_statements("duckdb"):
            con.execute(ddl)
            out[table] = {
                str(r[0]): str(r[1]) for r in con.execute(f'DESCRIBE "{table}"').fetchall()
            }
        return out
    finally:
        con.close()


def stored_columns(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, set[str]]:
    """table → its columns, for each table the database has (one catalog query, which
    `lacking` and `stale` share: opening a current file costs nothing more)."""
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ?",
        [database],
    ).fetchall():
        have.setdefault(str(table), set()).add(str(column))
    return have


def lacking(have: dict[str, set[str]]) -> dict[str, list[str]]:
    """table → the schema's columns it lacks, for each otelcap table in `have`
    (`stored_columns`)."""
    out = {}
    for table, arrow in TABLES.items():
        if table in have:
            gone = [c for c in arrow.names if c not in have[table]]
            if gone:
                out[table] = gone
    return out


# Rows compared by `stale`. Every store that opens a file to write keys it with its own
# hash() (`upgrade` recomputes all when the sample differs), so its rows agree with one
# another and any sample shows whether this DuckDB computes them the same way.
_STALE_SAMPLE = 256


def stale(
    con: duckdb.DuckDBPyConnection, database: str, have: dict[str, set[str]]
) -> dict[str, list[str]]:
    """table → its LOCAL columns (model/schema.py) that this DuckDB does not compute as they
    are stored: the file was keyed by a DuckDB whose hash() differs. A table that lacks the
    column (`have`, from `stored_columns`) is `lacking`'s, not this."""
    out: dict[str, list[str]] = {}
    for table, cols in LOCAL.items():
        for col in sorted(cols):
            if col not in have.get(table, set()):
                continue
            (differ,) = con.execute(
                f'SELECT count(*) FROM (SELECT "{col}" AS stored, {fill_sql(table, col, "")} '
                f'AS now FROM "{database}".main."{table}" LIMIT {_STALE_SAMPLE}) '
                "WHERE stored IS DISTINCT FROM now"
            ).fetchone() or (0,)
            if differ:
                out.setdefault(table, []).append(col)
    return out


def upgrade(
    con: duckdb.DuckDBPyConnection,
    missing: dict[str, list[str]],
    stale: dict[str, list[str]],
) -> list[str]:
    """Add and fill the `missing` columns (from `lacking`) and compute the `stale` ones again,
    in one transaction; returns what was done, one "table.column (why)" each."""
    done: list[str] = []
    if not missing and not stale:
        return done
    con.begin()
    try:
        for table in {**missing, **stale}:
            types = column_types()[table]
            cols = [*missing.get(table, []), *stale.get(table, [])]
            for column in missing.get(table, []):
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {types[column]}')
                done.append(f"added {table}.{column} (written by an older otelcap)")
            done += [
                f"recomputed {table}.{column} (keyed by another DuckDB version)"
                for column in stale.get(table, [])
            ]
            sets = ", ".join(f'"{c}" = {fill_sql(table, c, types[c])}' for c in cols)
            con.execute(f'UPDATE "{table}" SET {sets}')
        con.commit()
    except duckdb.Error:
        con.rollback()
        raise
    return done


def compat_views(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    missing: dict[str, list[str]],
    stale: dict[str, list[str]],
) -> None:
    """On this connection, a temporary view per table that lacks columns or holds stale ones,
    named like the table: its columns as stored, the stale ones computed again, the missing
    ones computed and added. Temporary objects are found before the file's, and belong to the
    connection that made them."""
    for table in {**missing, **stale}:
        types = column_types()[table]
        star = "*"
        if table in stale:
            redone = ", ".join(f'{fill_sql(table, c, types[c])} AS "{c}"' for c in stale[table])
            star = f"* REPLACE ({redone})"
        added = missing.get(table, [])
        extra = "".join(f', {fill_sql(table, c, types[c])} AS "{c}"' for c in added)
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{table}" AS '
            f'SELECT {star}{extra} FROM {alias}.main."{table}"'
        )
