"""The schema holds all of OTLP, and the DDL matches the Arrow schemas."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from otelcap.model import fields, schema
from otelcap.receiver.decode import PbRequest
from otelcap.storage.base import ddl_statements


def _walk(descriptor: object, seen: set[str], out: list[str]) -> None:
    name = descriptor.full_name  # type: ignore[attr-defined]
    if name in seen:
        return
    seen.add(name)
    for f in descriptor.fields:  # type: ignore[attr-defined]
        out.append(f.full_name)
        if f.message_type is not None:
            _walk(f.message_type, seen, out)


def test_every_otlp_field_has_a_column_or_a_reason() -> None:
    found: list[str] = []
    seen: set[str] = set()
    for msg in PbRequest.values():
        _walk(msg.DESCRIPTOR, seen, found)
    assert len(found) > 100
    unaccounted = [
        f
        for f in found
        if f not in fields.COLUMNS and f not in fields.DROPPED and f not in fields.STRUCTURE
    ]
    assert unaccounted == []


def test_field_destinations_name_real_columns() -> None:
    for field_name, dest in fields.COLUMNS.items():
        targets = dest.split(": ", 1)[1] if ": " in dest else dest
        if dest.startswith("value:"):
            continue
        for target in targets.split():
            table, column = target.split(".", 1)
            assert column in schema.TABLES[table].names, (field_name, target)


_DUCK_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP_NS": pa.timestamp("ns"),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "UBIGINT": pa.uint64(),
    "UINTEGER": pa.uint32(),
    "UTINYINT": pa.uint8(),
    "BOOLEAN": pa.bool_(),
    "MAP(VARCHAR, VARCHAR)": schema.MAP,
}


def _arrow_type(duck: str) -> pa.DataType:
    if duck.endswith("[]"):
        return pa.list_(_arrow_type(duck[:-2]))
    return _DUCK_TYPES[duck]


def test_duckdb_ddl_matches_arrow_schema() -> None:
    con = duckdb.connect()
    tables = ddl_statements("duckdb")
    assert [t for t, _ in tables] == list(schema.TABLES)
    for table, ddl in tables:
        con.execute(ddl)
        con.execute(ddl)  # idempotent
        described = con.execute(f'DESCRIBE "{table}"').fetchall()
        got = [(row[0], _arrow_type(row[1])) for row in described]
        want = [(f.name, f.type) for f in schema.TABLES[table]]
        assert got == want, table
