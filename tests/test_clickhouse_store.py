"""ClickHouseStore beyond the shared contract: where it connects, what it never prints, the
insert tokens that make a repeated flush harmless, and tables a stock Collector made."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import stores
from otelcap import config as config_mod
from otelcap.errors import ConfigError, StoreUnavailable
from otelcap.storage import location

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")
from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget, QueryFailed

SECRET = "pw-Never-Shown-42"


def load(tmp_path: Path, env: dict[str, str], **flags: object) -> config_mod.Config:
    return config_mod.load(flags, env=env, config_file=tmp_path / "absent.toml")


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    target = ClickHouseTarget(chdb="", database=stores.throwaway_database())
    s = ClickHouseStore(target)
    s.create_schema()
    yield s
    s.close()
    stores.drop_database(target)


# --- where it connects -------------------------------------------------------------------------


def test_url_parts_and_env_overrides(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        {
            "OTELCAP_BACKEND": "clickhouse",
            "OTELCAP_CLICKHOUSE_URL": f"https://writer:{SECRET}@ch.example.com/team",
            "OTELCAP_CLICKHOUSE_PORT": "9443",
        },
    )
    t = ClickHouseTarget.from_config(cfg)
    assert (t.host, t.port, t.user, t.password, t.database, t.secure) == (
        "ch.example.com", 9443, "writer", SECRET, "team", True,
    )  # fmt: skip
    assert t.display == "https://writer@ch.example.com:9443/team"


def test_defaults_and_separate_fields(tmp_path: Path) -> None:
    t = ClickHouseTarget.from_config(load(tmp_path, {}))
    assert t.display == "http://localhost:8123/otel"  # the exporter's database
    cfg = load(
        tmp_path,
        {
            "OTELCAP_CLICKHOUSE_HOST": "ch.internal",
            "OTELCAP_CLICKHOUSE_SECURE": "true",
            "OTELCAP_CLICKHOUSE_USER": "otelcap_writer",
            "OTELCAP_CLICKHOUSE_PASSWORD": SECRET,
        },
        clickhouse_database="claude",
    )
    t = ClickHouseTarget.from_config(cfg)
    assert t.display == "https://otelcap_writer@ch.internal:8443/claude"
    assert t.password == SECRET


def test_the_password_is_never_shown(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        {"OTELCAP_CLICKHOUSE_URL": f"http://u:{SECRET}@h:8123/db", "OTELCAP_BACKEND": "clickhouse"},
    )
    target = ClickHouseTarget.from_config(cfg)
    for text in (repr(cfg), repr(target), target.display, location(cfg)):
        assert SECRET not in text
    assert "http://u@h:8123/db" in location(cfg) and "spool" in location(cfg)


def test_a_password_on_the_command_line_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OTELCAP_CLICKHOUSE_PASSWORD") as err:
        load(tmp_path, {}, clickhouse_url=f"http://u:{SECRET}@h:8123")
    assert SECRET not in str(err.value)


def test_bad_urls_are_config_errors_without_the_url(tmp_path: Path) -> None:
    for url in (f"ftp://u:{SECRET}@h", f"http://u:{SECRET}@h:99999999"):
        with pytest.raises(ConfigError) as err:
            ClickHouseTarget.from_config(load(tmp_path, {"OTELCAP_CLICKHOUSE_URL": url}))
        assert SECRET not in str(err.value)
    with pytest.raises(ConfigError, match="true or false"):
        load(tmp_path, {"OTELCAP_CLICKHOUSE_SECURE": "maybe"})


def test_unreachable_server_is_unavailable_and_says_where_without_password() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = ClickHouseTarget(host="127.0.0.1", port=port, user="u", password=SECRET)
    store = ClickHouseStore(target)
    with pytest.raises(StoreUnavailable) as err:
        store.create_schema()
    assert f"http://u@127.0.0.1:{port}/otel" in str(err.value)
    assert SECRET not in str(err.value)
    with pytest.raises(StoreUnavailable):
        store.append(stores.flush(0))
    store.close()


# --- writes ------------------------------------------------------------------------------------


def test_a_flush_sent_twice_with_its_token_is_stored_once(store: ClickHouseStore) -> None:
    flush = stores.flush(7)
    store.append(flush, token="flush-7")
    store.append(flush, token="flush-7")  # the spool's replay after a lost answer
    store.append(stores.flush(8), token="flush-8")
    # Equal rows in two flushes are two events: without a token of its own each is kept.
    store.append(stores.flush(9))
    store.append(stores.flush(9))
    got = store.query("SELECT ServiceName, count() AS n FROM otel_logs GROUP BY 1 ORDER BY 1")
    assert got.to_pylist() == [
        {"ServiceName": "flush-0007", "n": 3},
        {"ServiceName": "flush-0008", "n": 3},
        {"ServiceName": "flush-0009", "n": 6},
    ]


def test_ttl_days_are_configurable() -> None:
    for days, want in ((7, "toIntervalDay(7)"), (0, None)):
        target = ClickHouseTarget(chdb="", database=stores.throwaway_database())
        s = ClickHouseStore(target, ttl_days=days)
        try:
            s.create_schema()
            created = s.query("SHOW CREATE TABLE otel_logs").column(0)[0].as_py()
            assert (want in created) if want else ("TTL" not in created)
        finally:
            s.close()
            stores.drop_database(target)


def test_a_stock_collector_table_is_used_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    """The exporter's table lacks otelcap's columns: the store sends the columns the table has
    (values stay in the maps) and says once what is missing."""
    target = ClickHouseTarget(chdb="", database=stores.throwaway_database())
    admin = ClickHouseStore(target)
    admin.create_schema()  # makes the database; then replace otel_logs by the exporter's
    assert admin._client is not None
    admin._client.command("DROP TABLE otel_logs")
    admin._client.command(
        "CREATE TABLE otel_logs (Timestamp DateTime64(9), ServiceName LowCardinality(String), "
        "Body String, LogAttributes Map(LowCardinality(String), String), "
        "TimestampTime DateTime DEFAULT toDateTime(Timestamp)) "
        "ENGINE = MergeTree ORDER BY (ServiceName, TimestampTime)"
    )
    # admin stays open: chdb's in-memory engine ends with its last connection.
    store = ClickHouseStore(target)
    with caplog.at_level(logging.WARNING, logger="otelcap.storage.clickhouse"):
        store.create_schema()  # leaves the table as it is
        store.append(stores.flush(1))
        store.append(stores.flush(2))
    try:
        got = store.query(
            "SELECT ServiceName, LogAttributes['session.id'] AS s FROM otel_logs ORDER BY 1, 2"
        )
        assert got.num_rows == 6
        assert got.to_pylist()[0] == {"ServiceName": "flush-0001", "s": "s-3"}
        warnings = [r.getMessage() for r in caplog.records]
        assert sum("otel_logs has no column" in w for w in warnings) == 1  # once, not per flush
        assert any("non_replicated_deduplication_window" in w for w in warnings)
    finally:
        store.close()
        stores.drop_database(target)
        admin.close()


# --- reads -------------------------------------------------------------------------------------


def test_queries_cannot_write(store: ClickHouseStore) -> None:
    with pytest.raises(QueryFailed, match="readonly"):
        store.query("DROP TABLE otel_logs")
    with pytest.raises(QueryFailed):
        store.query("INSERT INTO otel_logs (ServiceName) VALUES ('x')")
    assert store.query("SELECT count() AS n FROM otel_logs").to_pylist() == [{"n": 0}]


def test_bad_sql_is_a_query_error(store: ClickHouseStore) -> None:
    with pytest.raises(QueryFailed, match="NoSuchColumn"):
        store.query("SELECT NoSuchColumn FROM otel_logs")


def test_parameters_are_bound_not_pasted(store: ClickHouseStore) -> None:
    import datetime as dt

    got = store.query(
        "SELECT {s:String} AS s, {t:DateTime64(9)} AS t, {n:Int64} AS n, '%' AS pct",
        {"s": "x' OR '1'='1 \\ %s", "t": dt.datetime(2026, 11, 1, 10, 30, 0, 123456), "n": 3},
    ).to_pylist()
    assert got == [
        {
            "s": "x' OR '1'='1 \\ %s",
            "t": dt.datetime(2026, 11, 1, 10, 30, 0, 123456),
            "n": 3,
            "pct": "%",
        }
    ]
    assert store.query("SELECT '%' AS pct", {}).to_pylist() == [{"pct": "%"}]


def test_arrow_results_have_no_time_zone(store: ClickHouseStore) -> None:
    store.append({"otel_traces": [stores.full_batch("otel_traces", 2)]})
    got = store.query("SELECT Timestamp, `Events.Timestamp` FROM otel_traces")
    assert got.schema.field("Timestamp").type == pa.timestamp("ns")
    assert got.schema.field("Events.Timestamp").type == pa.list_(pa.timestamp("ns"))
