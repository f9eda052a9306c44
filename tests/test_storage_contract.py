"""The Store contract, on every backend: DuckDB, ClickHouseStore on ClickHouse's engine
in-process (chdb through clickhouse-connect: the same SQL and insert_arrow a server gets), and
ClickHouseStore on a real server when OTELCAP_TEST_CLICKHOUSE_URL is set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

import stores
from otelcap import querypack
from otelcap.model import schema
from otelcap.storage.duckdb import DuckDBStore

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")
from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

BACKENDS = ["duckdb", "clickhouse-chdb", "clickhouse-server"]


def clickhouse_target(kind: str) -> ClickHouseTarget:
    if kind == "server":
        if not stores.SERVER_URL:
            pytest.skip(stores.NO_SERVER)
        from otelcap import config as config_mod

        cfg = config_mod.load(
            {"clickhouse_database": stores.throwaway_database()},
            env={"OTELCAP_CLICKHOUSE_URL": stores.SERVER_URL},
            config_file=None,
        )
        return ClickHouseTarget.from_config(cfg)
    return ClickHouseTarget(chdb="", database=stores.throwaway_database())


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "duckdb":
        duck = DuckDBStore(":memory:")
        duck.create_schema()
        yield duck
        duck.close()
        return
    target = clickhouse_target(request.param.split("-")[1])
    click = ClickHouseStore(target)
    click.create_schema()
    yield click
    click.close()
    stores.drop_database(target)


def _sql(store: Any, sql_duckdb: str, sql_clickhouse: str) -> str:
    return sql_duckdb if store.name == "duckdb" else sql_clickhouse


def test_create_schema_makes_every_table_and_is_idempotent(store: Any) -> None:
    store.create_schema()  # a second time: nothing changes, nothing fails
    for table, arrow in schema.TABLES.items():
        got = store.query(f'SELECT * FROM "{table}" LIMIT 0' if store.name == "duckdb" else
                          f"SELECT * FROM {table} LIMIT 0")  # fmt: skip
        assert got.column_names == arrow.names, table


@pytest.mark.parametrize("table", list(schema.TABLES))
def test_rows_round_trip_with_every_type(store: Any, table: str) -> None:
    """Maps, arrays (of maps and timestamps), DateTime64(9) to the nanosecond, NULL and set
    nullable numbers and booleans, unsigned 64-bit values, quotes and backslashes."""
    batches = [stores.full_batch(table, 4, 0), stores.full_batch(table, 3, 4)]
    store.append({table: batches})
    got = store.query(f"SELECT * FROM {table} ORDER BY ServiceName")
    want = pa.Table.from_batches(batches)
    assert got.column_names == want.column_names
    assert stores.canonical(got) == stores.canonical(want)


def test_one_flush_fills_several_tables(store: Any) -> None:
    store.append(stores.flush(1))
    store.append(stores.flush(2))
    logs = store.query("SELECT ServiceName, count(*) AS n FROM otel_logs GROUP BY 1 ORDER BY 1")
    assert logs.to_pylist() == [
        {"ServiceName": "flush-0001", "n": 3},
        {"ServiceName": "flush-0002", "n": 3},
    ]
    assert store.query("SELECT count(*) AS n FROM otel_metrics_sum").column(0)[0].as_py() == 2


def test_old_rows_expire(store: Any) -> None:
    """ClickHouse: a TTL on every table. DuckDB has no TTL: serve's retention deletes old
    rows in short transactions (delete_before), checked here on both an old and a new row."""
    if store.name == "duckdb":
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        rows = [{"Timestamp": now - dt.timedelta(days=100), "Body": "old"},
                {"Timestamp": now, "Body": "new"}]  # fmt: skip
        store.append({"otel_logs": [pa.RecordBatch.from_pylist(rows, schema=schema.LOGS)]})
        assert store.delete_before("otel_logs", now - dt.timedelta(days=90), 1000) == 1
        left = store.query("SELECT Body FROM otel_logs").column(0).to_pylist()
        assert left == ["new"]
        return
    for table in schema.TABLES:
        created = store.query(f"SHOW CREATE TABLE {table}").column(0)[0].as_py()
        assert "+ toIntervalDay(90)" in created, table
        assert "ttl_only_drop_parts = 1" in created, table
        assert "non_replicated_deduplication_window = 1000" in created, table


def test_the_query_pack_runs(store: Any) -> None:
    for i in range(3):
        store.append(stores.flush(i))
    for q in querypack.load_all():
        querypack.run(store, q, {"since": "30d"})  # binds its parameters; no error


def test_datetime_comes_back_as_a_timestamp(store: Any) -> None:
    store.append(stores.flush(0))  # its first row is at BASE_NS
    sql = _sql(
        store,
        "SELECT date_trunc('second', Timestamp) AS t FROM otel_logs ORDER BY 1 LIMIT 1",
        "SELECT toDateTime(Timestamp) AS t FROM otel_logs ORDER BY 1 LIMIT 1",
    )
    got = store.query(sql)
    assert pa.types.is_timestamp(got.schema.field("t").type)
    assert got.schema.field("t").type.tz is None  # naive UTC, as DuckDB answers
    want = stores.BASE_NS // 10**9
    assert got.column("t").cast(pa.timestamp("s")).cast(pa.int64())[0].as_py() == want


def test_duckdb_takes_the_configured_memory_limit(tmp_path: Any) -> None:
    from otelcap import config as config_mod
    from otelcap.storage import open_store

    def limit(cfg: config_mod.Config) -> int:
        store = open_store(cfg)
        try:
            sql = "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'"
            text = store.query(sql).column(0)[0].as_py()
        finally:
            store.close()
        number, unit = text.split()
        return int(float(number) * {"MiB": 2**20, "GiB": 2**30, "MB": 10**6, "GB": 10**9}[unit])

    base = {"data_dir": tmp_path}
    default = limit(config_mod.load(base, env={}, config_file=None))
    # DuckDB reports the limit rounded to a tenth of a MiB or GiB.
    assert abs(default - 512 * 10**6) < 10**6  # the configured default, not 80% of RAM
    one_gb = limit(
        config_mod.load({**base, "duckdb_memory_limit": "1GB"}, env={}, config_file=None)
    )
    assert abs(one_gb - 10**9) < 10**7
    unlimited = limit(
        config_mod.load({**base, "duckdb_memory_limit": ""}, env={}, config_file=None)
    )
    assert unlimited > one_gb


def test_duckdb_writes_row_groups_of_row_group_size(tmp_path: Any) -> None:
    from otelcap.errors import ConfigError

    size = 4096
    path = tmp_path / "it's here.duckdb"  # a quote in the path: ATTACH takes it as a literal
    store = DuckDBStore(path, row_group_size=size)
    store.create_schema()
    rows = 2 * size + 100
    five = stores.full_batch("otel_logs", 5)
    store.append({"otel_logs": [five.take(pa.array([i % 5 for i in range(rows)]))]})
    store.close()  # checkpoints: the rows move from the WAL into row groups
    again = DuckDBStore(path, read_only=True)
    got = again.query(
        "SELECT count(DISTINCT row_group_id) AS groups, count(*) FILTER (WHERE count > ?) AS big "
        "FROM pragma_storage_info('otel_logs') WHERE column_name = 'Timestamp'",
        [size],
    ).to_pylist()[0]
    assert again.query("SELECT count(*) AS n FROM otel_logs").to_pylist()[0]["n"] == rows
    again.close()
    assert got == {"groups": 3, "big": 0}  # DuckDB's default would have made one group
    with pytest.raises(ConfigError, match="multiple of 2048"):
        DuckDBStore(tmp_path / "odd.duckdb", row_group_size=3000)


def test_a_database_another_process_holds_is_a_clear_error(tmp_path: Any) -> None:
    import subprocess
    import sys

    from otelcap.errors import ConfigError

    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from otelcap.storage.duckdb import DuckDBStore; "
         "s = DuckDBStore(sys.argv[1]); print('open', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(ConfigError, match="in use by another process"):
            DuckDBStore(path)
    finally:
        holder.kill()
        holder.wait()
    DuckDBStore(path).close()  # free again once the holder is gone


def test_the_commands_own_sql_runs_on_every_backend(store: Any) -> None:
    """queries/_ops: status's rows per table and export's days and windows, in the store's
    dialect (the ClickHouse form is the checked-in rendering)."""
    from otelcap import opsql

    for i, table in enumerate(schema.TABLES):
        store.append({table: [stores.full_batch(table, i + 1)]})
    got = store.query(opsql.sql("table-rows", store.dialect)).to_pylist()
    assert {r["tbl"]: int(r["n"]) for r in got} == {t: i + 1 for i, t in enumerate(schema.TABLES)}
    # full_batch's rows are a second apart, starting a day ago: one or two UTC days.
    days = store.query(
        opsql.sql("export-days", store.dialect, "otel_logs"),
        {"since": dt.datetime(1970, 1, 1), "until": dt.datetime(2262, 4, 11)},
    ).to_pylist()
    assert sum(int(r["n"]) for r in days) == 1 and isinstance(days[0]["day"], dt.date)
    lo = dt.datetime.combine(days[0]["day"], dt.time())
    rows = store.query(
        opsql.sql("export-rows", store.dialect, "otel_metrics_sum"),
        {"lo": lo - dt.timedelta(days=1), "hi": lo + dt.timedelta(days=2)},
    )
    # every column but the store's own series key (model/schema.py's LOCAL)
    assert rows.column_names == schema.exported("otel_metrics_sum")
    assert "SeriesKey" in schema.TABLES["otel_metrics_sum"].names
    assert "SeriesKey" not in rows.column_names
    assert rows.num_rows == 3
