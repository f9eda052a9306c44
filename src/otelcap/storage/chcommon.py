"""ClickHouseStore's SQL-side helpers: the DDL with its TTL, parameters as text, and the Arrow
that ClickHouse answers turned into the Arrow DuckDB answers.

The store runs on a server and, through clickhouse-connect's chdb interface, on ClickHouse's
engine in-process; both go through these, so the golden tests run on chdb hold for a server.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from otelcap.errors import QueryError
from otelcap.storage.base import ddl_statements

# Rows a stock Collector deployment keeps for 90 days; 0 disables the TTL (tests with fixed
# recordings would otherwise lose their rows once the recording date is 90 days old: a part
# that is already expired is dropped as it is inserted).
DEFAULT_TTL_DAYS = 90
_TTL_LINE = re.compile(r"^TTL .*$", re.MULTILINE)
_TTL_DAYS = re.compile(r"toIntervalDay\(\d+\)")
_DATETIME = re.compile(r"(Nullable\()?DateTime(\(.*\))?\)?")


class QueryFailed(QueryError):
    """ClickHouse refused a statement (bad SQL, unknown column, bad parameter value)."""


# What every read runs with, in this order: readonly=1 refuses writes, DDL, settings changes
# and the file/url/executable table functions (readonly=2 allowed file() to read and write,
# tried on chdb). join_use_nulls=1 comes first because the query pack asks for it and readonly
# forbids changing it afterwards; a query's own `SETTINGS join_use_nulls = 1` then changes
# nothing, which readonly allows. (chdb applies the settings one at a time, in order.)
READ_SETTINGS = {"join_use_nulls": 1, "readonly": 1}
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)


def refuse_outfile(sql: str, format_query: Callable[[str], str]) -> None:
    """Refuse `INTO OUTFILE`, which the in-process engine (chdb) carries out even with
    readonly=1. `format_query` is ClickHouse's own formatQuerySingleLine (comments gone, one
    statement only), given the SQL as a String parameter; a string literal that spells
    INTO OUTFILE is refused too."""
    try:
        text = format_query(sql)
    except Exception as exc:  # not one statement ClickHouse can parse
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise QueryFailed(f"ClickHouse cannot parse this as one statement: {first}") from None
    if _OUTFILE.search(text):
        raise QueryFailed(
            "INTO OUTFILE is refused: otelcap's SQL reads the tables and writes no file "
            "(use --format csv or json and redirect the output)"
        )


def ddl(ttl_days: int = DEFAULT_TTL_DAYS) -> list[tuple[str, str]]:
    """(table, CREATE statement) from schema/clickhouse with the TTL set to ttl_days (0: none)."""
    out = []
    for table, text in ddl_statements("clickhouse"):
        if ttl_days:
            text = _TTL_DAYS.sub(f"toIntervalDay({int(ttl_days)})", text)
        else:
            text = _TTL_LINE.sub("", text)
        out.append((table, text.strip().rstrip(";")))
    return out


def derived_column_ddl(table: str, column: str) -> str:
    """A column's definition as schema/clickhouse writes it (type, DEFAULT, codec), without
    its comment, for ALTER TABLE … ADD COLUMN."""
    text = dict(ddl_statements("clickhouse"))[table]
    m = re.search(rf"^\s*({re.escape(column)}\s.*?),?\s*(--.*)?$", text, re.MULTILINE)
    if not m:
        raise ValueError(f"schema/clickhouse/{table}.sql has no column {column}")
    return m.group(1).rstrip(",")


def escaped(text: str) -> str:
    """A String parameter's value as ClickHouse reads it (its Escaped format: a newline or a
    tab would end the value)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def param_text(value: Any, tz: dt.tzinfo | None = None) -> str:
    """A bound parameter as ClickHouse parses it from text. Naive datetimes are UTC (as the
    query pack makes them); a server reads DateTime64 text in its own zone, so they are written
    in `tz`, the server's zone, when it is given. Microseconds are kept (clickhouse-connect's
    own formatting drops them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = value.astimezone(tz or dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        raise TypeError("ClickHouse query parameters cannot be NULL; use a sentinel value")
    return str(value)


def has_uint32(table: pa.Table) -> bool:
    """Whether a result may hold DateTime columns, which ClickHouse's Arrow sends as UInt32."""
    return any(pa.types.is_uint32(f.type) for f in table.schema)


def restore_datetimes(table: pa.Table, described: pa.Table) -> pa.Table:
    """UInt32 columns that DESCRIBE of the query calls DateTime become timestamps again."""
    names, kinds = described.column("name").to_pylist(), described.column("type").to_pylist()
    types = dict(zip(names, kinds, strict=True))
    cols = []
    for field, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_uint32(field.type) and _DATETIME.fullmatch(str(types.get(field.name, ""))):
            col = col.cast(pa.int64()).cast(pa.timestamp("s"))
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.schema.names)


def naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps as naive UTC, as DuckDB returns them; NOT NULL flags dropped."""
    fields = []
    for field in table.schema:
        fields.append(pa.field(field.name, _naive_type(field.type), nullable=True))
    schema = pa.schema(fields)
    if schema == table.schema:
        return table
    cols = []
    for field, col in zip(schema, table.columns, strict=True):
        if col.type != field.type:
            # Same instants; only the zone annotation goes (Arrow stores UTC underneath).
            col = col.cast(field.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


def _naive_type(typ: pa.DataType) -> pa.DataType:
    """The type without time zones, also inside lists (Events.Timestamp, Exemplars.TimeUnix)."""
    if pa.types.is_timestamp(typ) and typ.tz is not None:
        return pa.timestamp(typ.unit)
    if pa.types.is_list(typ):
        return pa.list_(_naive_type(typ.value_type))
    return typ
