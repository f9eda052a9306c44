"""The ClickHouse side: the exporter-compatible DDL in schema/clickhouse, run by ClickHouse's
own engine (chdb) through ClickHouseStore, the store that turns its answers into the Arrow
DuckDB gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest

import stores
from otelcap.model import schema
from otelcap.storage.base import ddl_statements

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")
from otelcap.storage.clickhouse import ClickHouseStore


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    s = stores.chdb_store()
    yield s
    stores.close_chdb_store(s)


def _describe(store: ClickHouseStore, table: str) -> list[dict[str, str]]:
    return store.query(f"DESCRIBE TABLE {table}").select(["name", "type"]).to_pylist()


def test_ddl_has_every_arrow_column_in_order(store: ClickHouseStore) -> None:
    assert [t for t, _ in ddl_statements("clickhouse")] == list(schema.TABLES)
    for table, arrow in schema.TABLES.items():
        assert [c["name"] for c in _describe(store, table)] == arrow.names, table


def test_ddl_follows_the_exporter(store: ClickHouseStore) -> None:
    types = {c["name"]: c["type"] for c in _describe(store, "otel_logs")}
    assert types["Timestamp"] == "DateTime64(9)"
    assert types["LogAttributes"] == "Map(LowCardinality(String), String)"
    assert types["ServiceName"] == "LowCardinality(String)"
    assert types["SessionId"] == "String" and types["EventSequence"] == "Nullable(Int64)"
    assert types["Success"] == "Nullable(Bool)"
    assert "TimestampTime" not in types  # newer exporters dropped it; nothing may need it
    created = store.query("SHOW CREATE TABLE otel_logs").column(0)[0].as_py()
    for clause in (
        "PARTITION BY toDate(Timestamp)",
        "ORDER BY (ServiceName, toDateTime(Timestamp), Timestamp)",
        "TTL toDateTime(Timestamp) + toIntervalDay(90)",
        "ttl_only_drop_parts = 1",
        "CODEC(Delta(8), ZSTD(1))",
    ):
        assert clause in created, clause
    metrics = store.query("SHOW CREATE TABLE otel_metrics_sum").column(0)[0].as_py()
    assert (
        "ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))" in metrics
    )


def test_ttl_is_configurable() -> None:
    for days, want in ((30, "toIntervalDay(30)"), (0, None)):
        s = stores.chdb_store(ttl_days=days)
        try:
            created = s.query("SHOW CREATE TABLE otel_traces").column(0)[0].as_py()
            assert (want in created) if want else ("TTL" not in created)
        finally:
            stores.close_chdb_store(s)


def test_a_stock_collector_row_fills_the_promoted_columns(store: ClickHouseStore) -> None:
    """The exporter writes only its own columns; the DEFAULT expressions do the rest,
    defensively (a number that is no number is NULL, not an error)."""
    row = {
        "Timestamp": dt.datetime(2026, 11, 27, 22, 9, 13, 512000),
        "ServiceName": "claude-code",
        "Body": "claude_code.api_request",
        "ResourceAttributes": [("service.version", "2.1.332")],
        "LogAttributes": list(
            {
                "session.id": "s-1",
                "prompt.id": "p-1",
                "event.sequence": "7",
                "model": "claude-sonnet-4-5",
                "cost_usd": "0.0123",
                "input_tokens": "12",
                "duration_ms": "not a number",
                "success": "false",
                "status_code": "529",
            }.items()
        ),
        "EventName": "",
    }
    exporter_columns = pa.schema([schema.LOGS.field(name) for name in row])
    store.append({"otel_logs": [pa.RecordBatch.from_pylist([row], schema=exporter_columns)]})
    (got,) = store.query(
        "SELECT SessionId, PromptId, EventSequence, Model, CostUsd, InputTokens, DurationMs, "
        "Success, StatusCode, AppVersion, ToolName, OutputTokens FROM otel_logs"
    ).to_pylist()
    assert got == {
        "SessionId": "s-1",
        "PromptId": "p-1",
        "EventSequence": 7,
        "Model": "claude-sonnet-4-5",
        "CostUsd": 0.0123,
        "InputTokens": 12,
        "DurationMs": None,
        "Success": False,
        "StatusCode": 529,
        "AppVersion": "2.1.332",  # app.version absent: the resource's service.version
        "ToolName": "",  # strings: '' when absent
        "OutputTokens": None,  # numbers: NULL when absent
    }


def test_results_look_like_duckdbs(store: ClickHouseStore) -> None:
    batch = pa.RecordBatch.from_pylist(
        [{"Timestamp": dt.datetime(2026, 11, 27, 22, 9, 13, 512000), "SessionId": "s"}],
        schema=pa.schema([("Timestamp", schema.TS), ("SessionId", pa.string())]),
    )
    store.append({"otel_logs": [batch]})
    t = store.query(
        "SELECT Timestamp, toDateTime(Timestamp) AS dt, toDate(Timestamp) AS d, "
        "CAST(NULL AS Nullable(DateTime)) AS nothing, toUInt32(7) AS n FROM otel_logs"
    )
    # DateTime arrives from ClickHouse as a UInt32; it goes out as a timestamp again, and
    # DateTime64 loses the server's zone label (the instant is the same: naive UTC).
    assert t.schema.field("Timestamp").type == pa.timestamp("ns")
    assert t.schema.field("dt").type == pa.timestamp("s")
    assert t.schema.field("nothing").type == pa.timestamp("s")
    assert t.schema.field("n").type == pa.uint32()  # a real UInt32 stays one
    row = t.to_pylist()[0]
    assert row["Timestamp"] == dt.datetime(2026, 11, 27, 22, 9, 13, 512000)
    assert row["dt"] == dt.datetime(2026, 11, 27, 22, 9, 13)
    assert row["d"] == dt.date(2026, 11, 27)


def test_parameters_are_bound_by_name(store: ClickHouseStore) -> None:
    t = store.query(
        "SELECT {since:DateTime64(9)} AS since, {s:String} AS s, {n:Int64} AS n",
        {"since": dt.datetime(2026, 11, 1, 10, 30), "s": "x' OR '1'='1", "n": 3},
    ).to_pylist()
    assert t == [{"since": dt.datetime(2026, 11, 1, 10, 30), "s": "x' OR '1'='1", "n": 3}]
    with pytest.raises(TypeError):
        store.query("SELECT 1", [1])


def test_stores_are_isolated() -> None:
    a, b = stores.chdb_store(), stores.chdb_store()
    try:
        # A current timestamp: a 1970 default would be dropped by the 90-day TTL on merge.
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        batch = pa.RecordBatch.from_pylist([{"SessionId": "only-in-a", "Timestamp": now}])
        a.append({"otel_logs": [batch]})
        assert a.query("SELECT count() AS n FROM otel_logs").to_pylist() == [{"n": 1}]
        assert b.query("SELECT count() AS n FROM otel_logs").to_pylist() == [{"n": 0}]
    finally:
        stores.close_chdb_store(a)
        stores.close_chdb_store(b)
