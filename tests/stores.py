"""Stores for the storage tests, and batches that use every column type.

ClickHouse runs two ways: in-process (clickhouse-connect's chdb interface, so the very
ClickHouseStore code a server gets, SQL and insert_arrow included, runs on ClickHouse's engine
without a server), and against a real server when OTELCAP_TEST_CLICKHOUSE_URL is set, e.g.
http://default:secret@127.0.0.1:8123 (each test makes a throwaway database and drops it).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Set
from pathlib import Path
from typing import Any

import pyarrow as pa

from otelcap import config as config_mod
from otelcap.errors import StoreUnavailable
from otelcap.model import schema
from otelcap.storage.chcommon import DEFAULT_TTL_DAYS
from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

SERVER_URL = os.environ.get("OTELCAP_TEST_CLICKHOUSE_URL", "")
NO_SERVER = "no ClickHouse server: set OTELCAP_TEST_CLICKHOUSE_URL=http://user:pw@host:8123"
CLICKHOUSE_KINDS = ["chdb", "server"]


def throwaway_database() -> str:
    return f"otelcap_test_{uuid.uuid4().hex[:10]}"


def clickhouse_config(tmp_path: Path, kind: str, **overrides: Any) -> config_mod.Config:
    """A Config for backend clickhouse on `kind` (chdb or server), in a throwaway database.
    The server URL goes in through the environment: a flag may not hold a password."""
    if kind == "server" and not SERVER_URL:
        import pytest

        pytest.skip(NO_SERVER)
    env = {"OTELCAP_CLICKHOUSE_URL": SERVER_URL if kind == "server" else "chdb://memory"}
    values: dict[str, Any] = {
        "backend": "clickhouse",
        "data_dir": tmp_path / "data",
        "grpc_port": 0,
        "http_port": 0,
        "flush_interval_ms": 20,
        "clickhouse_database": throwaway_database(),
        "clickhouse_ttl_days": 0,  # recordings have fixed dates; a TTL would drop them one day
    }
    values.update(overrides)
    return config_mod.load(values, env=env, config_file=tmp_path / "absent.toml")


def drop_database(target: ClickHouseTarget) -> None:
    import clickhouse_connect

    client = clickhouse_connect.get_client(**target.client_kwargs(None, 60))
    try:
        client.command(f"DROP DATABASE IF EXISTS `{target.database}`")
    finally:
        client.close()


def chdb_store(ttl_days: int = DEFAULT_TTL_DAYS) -> ClickHouseStore:
    """ClickHouseStore, the code a server gets, on ClickHouse's engine in-process, in a
    throwaway database with the tables made. Close it with close_chdb_store."""
    store = ClickHouseStore(ClickHouseTarget(chdb="", database=throwaway_database()), ttl_days)
    store.create_schema()
    return store


def close_chdb_store(store: ClickHouseStore) -> None:
    # Drop first: chdb's in-memory engine lives while a connection does, this store's.
    drop_database(store.target)
    store.close()


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


# --- batches with every type -------------------------------------------------------------------


def _nullable(table: str) -> set[str]:
    """Columns that may be NULL on both engines: the promoted numbers and booleans. Every other
    ClickHouse column is NOT NULL (a NULL would be stored as the type's default)."""
    promoted = {
        "otel_logs": schema.PROMOTED_LOG,
        "otel_traces": schema.PROMOTED_SPAN,
    }.get(table, schema.PROMOTED_METRIC)
    return {col for col, _key, kind in promoted if kind != "str"}


# Within any TTL: an expired part is dropped as it is inserted.
BASE_NS = (int(time.time()) - 86_400) * 10**9 + 123_456_789


def _value(name: str, typ: pa.DataType, i: int, nullable: Set[str] = frozenset()) -> Any:
    if name in nullable and i % 3 == 0:
        return None
    if name == "ServiceName":
        return f"svc-{i:04d}"  # the sort key of the round trip
    if pa.types.is_timestamp(typ):
        return BASE_NS + i * 1_000_000_007  # nanoseconds survive
    if pa.types.is_map(typ):
        return [("session.id", f"s-{i}"), ("ü.key", f"v'\\\"{i}"), ("empty", "")]
    if pa.types.is_list(typ):
        return [_value(name + "[]", typ.value_type, i + k) for k in range(i % 3)]
    if pa.types.is_string(typ):
        return f"{name} é'\\ {i}"
    if pa.types.is_boolean(typ):
        return i % 3 == 1
    if pa.types.is_floating(typ):
        return -1.25 + i / 7
    if pa.types.is_unsigned_integer(typ):
        return {8: 200, 32: 4_000_000_000, 64: 2**63 + 5}[typ.bit_width] - i
    if pa.types.is_integer(typ):
        return -(2**40) - i if typ.bit_width == 64 else -(2**30) - i
    raise TypeError(f"no test value for {name}: {typ}")


def full_batch(table: str, rows: int = 5, start: int = 0) -> pa.RecordBatch:
    """Rows for `table` with a value in every column of its Arrow schema."""
    arrow = schema.TABLES[table]
    nullable = _nullable(table)
    cols = [
        pa.array([_value(f.name, f.type, start + i, nullable) for i in range(rows)], type=f.type)
        for f in arrow
    ]
    return pa.RecordBatch.from_arrays(cols, schema=arrow)


def model_batch(arrow: pa.Schema, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Rows as the model makes them: the columns each row names, the other strings '' (the
    model leaves no string null), everything else null."""
    blank = {f.name: "" if pa.types.is_string(f.type) else None for f in arrow}
    return pa.RecordBatch.from_pylist([{**blank, **row} for row in rows], schema=arrow)


def canonical(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as Python values with timestamps as integer nanoseconds (pyarrow's datetimes stop
    at microseconds), so two engines' answers compare exactly."""
    cols = []
    for col in table.columns:
        typ = col.type
        if pa.types.is_timestamp(typ):
            col = col.cast(pa.timestamp("ns")).cast(pa.int64())
        elif pa.types.is_list(typ) and pa.types.is_timestamp(typ.value_type):
            col = col.cast(pa.list_(pa.timestamp("ns"))).cast(pa.list_(pa.int64()))
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names).to_pylist()


def flush(i: int, rows: int = 3) -> dict[str, list[pa.RecordBatch]]:
    """Flush number i: log rows whose ServiceName says which flush they came in."""
    batch = full_batch("otel_logs", rows, start=i * rows)
    names = pa.array([f"flush-{i:04d}"] * rows)
    batch = batch.set_column(batch.schema.get_field_index("ServiceName"), "ServiceName", names)
    return {"otel_logs": [batch], "otel_metrics_sum": [full_batch("otel_metrics_sum", 1, i)]}


class FlakyStore:
    """A real store behind a switch, failing on purpose: `down` refuses before the inner store
    sees anything (unreachable); `lose_answers` lets the next n appends reach the inner store
    and then raises (the rows are stored, the answer was lost)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dialect = getattr(inner, "dialect", inner.name)
        self.deduplicates = getattr(inner, "deduplicates", False)
        self.down = False
        self.lose_answers = 0
        self.attempts = 0
        self.stored: list[str] = []  # flush names in the order the inner store first took them

    def create_schema(self) -> None:
        if self.down:
            raise StoreUnavailable("down on purpose")
        self.inner.create_schema()

    def append(self, batches: dict[str, list[pa.RecordBatch]], token: str | None = None) -> None:
        self.attempts += 1
        if self.down:
            raise StoreUnavailable("down on purpose")
        if self.deduplicates:
            self.inner.append(batches, token=token)
        else:
            self.inner.append(batches)
        for part in batches.get("otel_logs", []):
            for name in dict.fromkeys(part.column("ServiceName").to_pylist()):
                if name not in self.stored:
                    self.stored.append(name)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise StoreUnavailable("the answer was lost on purpose")

    def query(self, sql: str, params: Any = None) -> pa.Table:
        return self.inner.query(sql, params)

    def close(self) -> None:
        self.inner.close()
