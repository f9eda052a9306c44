"""Read-only SQL is read-only (issue 11, defect 7): `otelcap sql`, the query pack and the running
server's loopback endpoint read otelcap's tables and nothing else.

Each hostile statement is sent the three ways SQL reaches DuckDB: through the endpoint of a live
server (`otelcap sql` while `serve` holds the file), on a file with no server, and on an export
bundle (`--from`). Each must be refused with exit code 1 and a message, and leave the tables,
their rows and the files on disk as they were; on the live server, traces must still ingest
afterwards (`EXPLAIN ANALYZE DROP TABLE otel_traces` used to break that). A second table checks
the engine on its own, with the statement check switched off, and a third ClickHouse's engine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import recordings
import stores
from conftest import make_config
from otelcap import export, querypack
from otelcap.cli import app
from otelcap.errors import NotReadOnly, QueryError
from otelcap.model import schema
from otelcap.sanitize.keyed import KEY_FILE
from otelcap.service import Service
from otelcap.storage import sqlguard
from otelcap.storage.bundle import BundleStore
from otelcap.storage.duckdb import DuckDBStore

SCENARIO = "toolfail-grpc"  # logs, metrics and traces
KEY_TEXT = "0f" * 32  # the privacy key planted where no server made one: never printed

# (id, statement). {out} is an empty directory a write would land in, {key} the privacy key,
# {data} the data directory, {plant} a Parquet file and {csv} a CSV file outside every store.
HOSTILE = [
    # EXPLAIN runs what it wraps with ANALYZE; refused whether or not it would
    ("explain-analyze-drop", "EXPLAIN ANALYZE DROP TABLE otel_traces"),
    ("explain-drop", "EXPLAIN DROP TABLE otel_traces"),
    ("explain-analyze-delete", "EXPLAIN ANALYZE DELETE FROM otel_logs"),
    ("explain-analyze-update", "EXPLAIN ANALYZE UPDATE otel_logs SET Body = ''"),
    ("explain-analyze-insert", "EXPLAIN ANALYZE INSERT INTO otel_logs (Body) VALUES ('x')"),
    ("explain-analyze-create", "EXPLAIN ANALYZE CREATE TABLE pwned AS SELECT 1 AS x"),
    ("explain-analyze-copy", "EXPLAIN ANALYZE COPY otel_logs TO '{out}/explain.csv'"),
    ("explain-analyze-checkpoint", "EXPLAIN ANALYZE CHECKPOINT"),
    ("explain-analyze-attach", "EXPLAIN ANALYZE ATTACH '{out}/x.duckdb' AS x"),
    ("explain-comment-drop", "EXPLAIN /* SELECT */ ANALYZE DROP TABLE otel_traces"),
    # writes inside CTEs
    ("cte-delete", "WITH d AS (DELETE FROM otel_logs RETURNING *) SELECT count(*) FROM d"),
    ("cte-insert", "WITH x AS (SELECT 1 AS y) INSERT INTO otel_logs (Body) SELECT 'x' FROM x"),
    # several statements, comment tricks
    ("select-then-drop", "SELECT 1; DROP TABLE otel_traces"),
    ("block-comment-then-delete", "SELECT 1 /* */; DELETE FROM otel_logs"),
    ("comment-disguised-drop", "/* SELECT 1 */ DROP TABLE otel_traces"),
    ("line-comment-then-drop", "SELECT 1 --\n; DROP TABLE otel_traces"),
    ("select-then-set", "SELECT 1; SET enable_external_access = true"),
    # files written
    ("copy-to", "COPY otel_logs TO '{out}/copy.csv'"),
    (
        "copy-query-to-parquet",
        "COPY (SELECT * FROM otel_logs) TO '{out}/c.parquet' (FORMAT parquet)",
    ),
    ("export-database", "EXPORT DATABASE '{out}/export'"),
    # files read
    ("read-csv-key", "SELECT * FROM read_csv('{key}')"),
    ("read-text-key", "SELECT content FROM read_text('{key}')"),
    ("read-text-passwd", "SELECT content FROM read_text('/etc/passwd')"),
    ("read-blob-key", "SELECT content FROM read_blob('{key}')"),
    ("read-parquet", "SELECT * FROM read_parquet('{plant}')"),
    ("read-csv-auto", "SELECT * FROM read_csv_auto('{csv}')"),
    ("glob-data-dir", "SELECT * FROM glob('{data}/*')"),
    ("replacement-scan-key", "SELECT * FROM '{key}'"),
    ("replacement-scan-parquet", "SELECT * FROM '{plant}'"),
    ("subquery-read-text", "SELECT (SELECT content FROM read_text('{key}')) AS k"),
    ("sniff-csv", "SELECT * FROM sniff_csv('{csv}')"),
    # databases, extensions, settings, pragmas
    ("attach-file", "ATTACH '{out}/other.duckdb' AS other"),
    ("attach-memory", "ATTACH ':memory:' AS scratch"),
    ("detach", "DETACH otelcap"),
    ("use", "USE memory"),
    ("install", "INSTALL httpfs"),
    ("load", "LOAD httpfs"),
    ("set", "SET memory_limit = '1GB'"),
    ("set-global-external-access", "SET GLOBAL enable_external_access = true"),
    ("reset", "RESET memory_limit"),
    ("set-variable", "SET VARIABLE x = 1"),
    ("pragma-set", "PRAGMA threads = 1"),
    ("pragma-read", "PRAGMA database_list"),
    ("call", "CALL pragma_version()"),
    ("checkpoint", "CHECKPOINT"),
    ("force-checkpoint", "FORCE CHECKPOINT"),
    ("checkpoint-function", "SELECT * FROM checkpoint()"),
    ("truncate-logs-function", "SELECT * FROM truncate_duckdb_logs()"),
    ("query-function", "SELECT * FROM query('SELECT 1')"),
    ("vacuum", "VACUUM"),
    # DDL and writes
    ("create-macro", "CREATE MACRO m(a) AS a"),
    ("create-temp-macro", "CREATE TEMP MACRO m(a) AS a"),
    ("create-view", "CREATE VIEW v AS SELECT 1 AS x"),
    ("create-table", "CREATE TABLE pwned (x INTEGER)"),
    ("create-temp-table", "CREATE TEMP TABLE pwned AS SELECT 1 AS x"),
    ("create-secret", "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')"),
    ("alter", "ALTER TABLE otel_logs ADD COLUMN pwned INTEGER"),
    ("insert", "INSERT INTO otel_logs (Body) VALUES ('x')"),
    ("update", "UPDATE otel_logs SET Body = ''"),
    ("delete", "DELETE FROM otel_logs"),
    ("drop", "DROP TABLE otel_traces"),
    ("drop-view-in-bundle", "DROP VIEW otel_logs"),
]
assert len(HOSTILE) >= 30

# What SELECTs may do on every path, with an answer to check.
ORDINARY = [
    (
        "SELECT count(*) AS n FROM otel_logs WHERE EventName <> ''",
        lambda t: t.column(0)[0].as_py() > 0,
    ),
    (
        "WITH s AS (SELECT SessionId, count(*) AS n FROM otel_logs GROUP BY 1) "
        "SELECT count(*) AS sessions FROM s",
        lambda t: t.column(0)[0].as_py() >= 1,
    ),
    ("EXPLAIN SELECT * FROM otel_traces", lambda t: t.num_rows >= 1),
    ("EXPLAIN ANALYZE SELECT count(*) FROM otel_metrics_sum", lambda t: t.num_rows >= 1),
    ("DESCRIBE otel_logs", lambda t: "Body" in t.column(0).to_pylist()),
    ("SELECT * FROM range(3)", lambda t: t.num_rows == 3),
    (
        "SELECT table_name FROM information_schema.tables ORDER BY 1",
        lambda t: set(schema.TABLES) <= set(t.column(0).to_pylist()),
    ),
]


# --- where the statements go -----------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A DuckDB file that a real server filled from a recording, and a bundle exported from it."""
    root = tmp_path_factory.mktemp("recorded")
    svc = Service(make_config(root))
    svc.start()
    try:
        _replay(svc, SCENARIO)
    finally:
        svc.stop()
    bundle = root / "bundle"
    export.export_bundle(make_config(root), bundle)
    return svc.config.database, bundle


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, recorded: tuple[Path, Path]
) -> Iterator[Service]:
    """A running server on a copy of the recorded file, shared by the endpoint cases: starting
    and stopping one costs ~1.2 s, and there are 60 of them. Each case still compares the state
    before and after itself."""
    root = tmp_path_factory.mktemp("live")
    db = root / "live.duckdb"
    shutil.copy(recorded[0], db)
    svc = Service(make_config(root, db_path=db))
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def plant(tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "probe"
    out.mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "plant.parquet")
    (tmp_path / "plant.csv").write_text("a,b\n1,2\n")
    return {
        "out": str(out),
        "plant": str(tmp_path / "plant.parquet"),
        "csv": str(tmp_path / "plant.csv"),
    }


def _replay(svc: Service, scenario: str) -> None:
    for _ in recordings.replay(
        scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
    ):
        pass


def _sql(args: list[str], data_dir: Path, tmp_path: Path) -> Any:
    env = {"OTELCAP_DATA_DIR": str(data_dir), "OTELCAP_CONFIG": str(tmp_path / "none.toml")}
    return CliRunner().invoke(app, ["sql", *args], env=env)


def _assert_refused(result: Any, statement: str) -> None:
    assert result.exit_code == 1, f"{statement!r} was not refused:\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.output.strip()
    assert message.startswith("otelcap: ") and "Traceback" not in message, message
    assert KEY_TEXT not in message and "root:x:0:0" not in message


def _files(root: Path, ignore: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file under root and a hash of its bytes; `ignore`: name endings the running
    server itself changes (its WAL)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith(ignore):
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _tables(run: Any) -> dict[str, Any]:
    """The table and view list of every attached database, and rows per otelcap table."""
    listed = run(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
        "UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views() "
        "WHERE NOT internal ORDER BY ALL"
    ).to_pylist()
    rows = {t: run(f'SELECT count(*) AS n FROM "{t}"').column(0)[0].as_py() for t in schema.TABLES}
    return {"tables": listed, "rows": rows}


@pytest.mark.parametrize(("name", "statement"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_refused_through_the_live_servers_endpoint(
    live: Service, plant: dict[str, str], tmp_path: Path, name: str, statement: str
) -> None:
    cfg = live.config
    sql = statement.format(key=cfg.data_dir / KEY_FILE, data=cfg.data_dir, **plant)
    before = _tables(live.store.query), _files(tmp_path), _files(cfg.data_dir, (".wal",))
    result = _sql([sql, "--db", str(cfg.database)], cfg.data_dir, tmp_path)
    _assert_refused(result, sql)
    assert (cfg.data_dir / KEY_FILE).read_text().strip() not in result.output
    after = _tables(live.store.query), _files(tmp_path), _files(cfg.data_dir, (".wal",))
    assert after == before
    # ingest goes on: a recorded trace export is acknowledged and stored
    traces = next(r for r in recordings.load(SCENARIO) if r.signal == "traces")
    recordings.send(traces, f"127.0.0.1:{live.endpoints.grpc_port}", live.endpoints.http_url)
    rows = live.store.query("SELECT count(*) AS n FROM otel_traces").column(0)[0].as_py()
    assert rows == before[0]["rows"]["otel_traces"] + traces.items
    assert live.pipeline.stats.failed_flushes == 0


@pytest.mark.parametrize(("name", "statement"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_refused_on_a_file_with_no_server(
    recorded: tuple[Path, Path], plant: dict[str, str], tmp_path: Path, name: str, statement: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / KEY_FILE).write_text(KEY_TEXT + "\n")
    db = tmp_path / "copy.duckdb"
    shutil.copy(recorded[0], db)
    sql = statement.format(key=data / KEY_FILE, data=data, **plant)
    before = _files(tmp_path)
    result = _sql([sql, "--db", str(db)], data, tmp_path)
    _assert_refused(result, sql)
    assert _files(tmp_path) == before  # the database file too, byte for byte


@pytest.mark.parametrize(("name", "statement"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_refused_on_a_bundle(
    recorded: tuple[Path, Path], plant: dict[str, str], tmp_path: Path, name: str, statement: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / KEY_FILE).write_text(KEY_TEXT + "\n")
    bundle = recorded[1]
    sql = statement.format(key=data / KEY_FILE, data=data, **plant)
    before = _files(tmp_path), _files(bundle)
    result = _sql([sql, "--from", str(bundle)], data, tmp_path)
    _assert_refused(result, sql)
    assert (_files(tmp_path), _files(bundle)) == before


def test_ordinary_selects_and_the_pack_run_on_every_path(
    live: Service, recorded: tuple[Path, Path], tmp_path: Path
) -> None:
    db, bundle = recorded
    paths = {
        "endpoint": (["--db", str(live.config.database)], live.config.data_dir),
        "file": (["--db", str(db)], tmp_path / "data"),
        "bundle": (["--from", str(bundle)], tmp_path / "data"),
    }
    env = {"OTELCAP_CONFIG": str(tmp_path / "none.toml")}
    for where, (flags, data) in paths.items():
        for sql, _ok in ORDINARY:
            result = _sql([sql, *flags], data, tmp_path)
            assert result.exit_code == 0, (where, sql, result.output)
        for q in querypack.load_all():
            ran = CliRunner().invoke(
                app, ["query", q.name, *flags, "--format", "json"],
                env={**env, "OTELCAP_DATA_DIR": str(data)},
            )  # fmt: skip
            assert ran.exit_code == 0, (where, q.name, ran.output)
    # and the answers, not only the exit codes, on the stores themselves
    for store in (DuckDBStore(db, read_only=True), BundleStore(bundle)):
        try:
            for sql, ok in ORDINARY:
                assert ok(store.query(sql)), (store, sql)
        finally:
            store.close()
    for sql, ok in ORDINARY:
        assert ok(live.store.query(sql)), sql


# --- the engine on its own ---------------------------------------------------------------------

# What the engine refuses even if the statement check let it through: writes and DDL (the
# read-only transaction), files (external access off), settings (locked configuration) and
# extensions. The rest of HOSTILE is the statement check's alone (see sqlguard.py).
ENGINE_REFUSES = [
    "explain-analyze-drop", "explain-analyze-delete", "explain-analyze-update",
    "explain-analyze-insert", "explain-analyze-create", "explain-analyze-copy", "copy-to",
    "copy-query-to-parquet", "export-database", "read-csv-key", "read-text-key",
    "read-text-passwd", "read-blob-key", "read-parquet", "read-csv-auto", "glob-data-dir",
    "replacement-scan-key", "replacement-scan-parquet", "subquery-read-text", "sniff-csv",
    "attach-file", "install", "load", "set", "set-global-external-access", "reset", "pragma-set",
    "select-then-set", "create-macro", "create-view", "create-table", "alter", "insert", "update",
    "delete", "drop", "drop-view-in-bundle", "cte-delete", "select-then-drop",
]  # fmt: skip


@pytest.mark.parametrize("name", ENGINE_REFUSES)
def test_the_engine_refuses_without_the_statement_check(
    recorded: tuple[Path, Path],
    plant: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    statement = dict(HOSTILE)[name]
    data = tmp_path / "data"
    data.mkdir()
    (data / KEY_FILE).write_text(KEY_TEXT + "\n")
    db = tmp_path / "copy.duckdb"
    shutil.copy(recorded[0], db)
    sql = statement.format(key=data / KEY_FILE, data=data, **plant)
    monkeypatch.setattr(sqlguard, "check", lambda sql: None)
    # A store opened read-only, and a read-write one sealed as `serve` seals its own.
    writer = DuckDBStore(tmp_path / "writer.duckdb")
    writer.create_schema()
    writer.append({"otel_logs": [stores.full_batch("otel_logs", 3)]})
    writer.seal()
    for store in (DuckDBStore(db, read_only=True), writer, BundleStore(recorded[1])):
        before = _tables(store.query), _files(Path(plant["out"]))
        try:
            # With external access off DuckDB does not even look for a file named like a table;
            # a bundle's tables are views over its files, which no statement can write to.
            refusal: tuple[type[Exception], ...] = (NotReadOnly,)
            # (the engine's own errors arrive as QueryError naming them, as on ClickHouse)
            if name == "replacement-scan-key":
                refusal = (QueryError,)
            if isinstance(store, BundleStore):
                refusal += (QueryError,)
            with pytest.raises(refusal):
                store.query(sql)
            assert (_tables(store.query), _files(Path(plant["out"]))) == before
        finally:
            store.close()
    assert not any(Path(plant["out"]).iterdir())


# --- ClickHouse --------------------------------------------------------------------------------

CLICKHOUSE_HOSTILE = [
    ("drop", "DROP TABLE otel_traces"),
    ("insert", "INSERT INTO otel_logs (ServiceName) VALUES ('x')"),
    ("alter-delete", "ALTER TABLE otel_logs DELETE WHERE 1"),
    ("create", "CREATE TABLE pwned (x Int8) ENGINE = Memory"),
    ("create-temporary", "CREATE TEMPORARY TABLE pwned (x Int8)"),
    ("truncate", "TRUNCATE TABLE otel_logs"),
    ("optimize", "OPTIMIZE TABLE otel_logs"),
    ("detach", "DETACH TABLE otel_logs"),
    ("set", "SET max_threads = 1"),
    ("settings-clause", "SELECT 1 SETTINGS max_threads = 1"),
    ("settings-readonly-0", "SELECT 1 SETTINGS readonly = 0"),
    ("file-read", "SELECT * FROM file('/etc/passwd', 'LineAsString')"),
    ("file-read-key", "SELECT * FROM file('{key}', 'LineAsString')"),
    ("file-write", "INSERT INTO FUNCTION file('{out}/w.csv', 'CSV') SELECT 1"),
    ("into-outfile", "SELECT 1 INTO OUTFILE '{out}/o.csv'"),
    ("into-outfile-comment", "SELECT 1 /* x */ into  outfile '{out}/o2.csv' FORMAT CSV"),
    ("url", "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')"),
    ("system", "SYSTEM DROP MARK CACHE"),
    ("drop-then-select", "DROP TABLE otel_traces; SELECT 1"),
    ("select-then-drop", "SELECT 1; DROP TABLE otel_traces"),
]


@pytest.fixture
def ch_store() -> Iterator[Any]:
    """ClickHouseStore over clickhouse-connect's in-process engine (chdb): the server's code."""
    pytest.importorskip("chdb")
    from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

    target = ClickHouseTarget(chdb="", database=stores.throwaway_database())
    store = ClickHouseStore(target, ttl_days=0)
    store.create_schema()
    store.append({"otel_logs": [stores.full_batch("otel_logs", 3)]})
    yield store
    store.close()
    stores.drop_database(target)


def _ch_state(store: Any) -> dict[str, Any]:
    tables = (
        store.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
        )
        .column(0)
        .to_pylist()
    )
    rows = {t: store.query(f"SELECT count() AS n FROM {t}").column(0)[0].as_py() for t in tables}
    return {"tables": tables, "rows": rows}


@pytest.mark.parametrize(
    ("name", "statement"), CLICKHOUSE_HOSTILE, ids=[h[0] for h in CLICKHOUSE_HOSTILE]
)
def test_clickhouse_refuses(ch_store: Any, tmp_path: Path, name: str, statement: str) -> None:
    from otelcap.errors import OtelcapError

    out = tmp_path / "probe"
    out.mkdir()
    key = tmp_path / KEY_FILE
    key.write_text(KEY_TEXT + "\n")
    before = _ch_state(ch_store)
    with pytest.raises(OtelcapError) as refused:
        ch_store.query(statement.format(out=out, key=key))
    assert KEY_TEXT not in str(refused.value)
    assert _ch_state(ch_store) == before
    assert not any(out.iterdir())


def test_clickhouse_reads_still_work(ch_store: Any) -> None:
    assert ch_store.query("SELECT count() AS n FROM otel_logs").to_pylist() == [{"n": 3}]
    # the pack's own SETTINGS clause repeats what every read already runs with
    got = ch_store.query("SELECT count() AS n FROM otel_logs SETTINGS join_use_nulls = 1")
    assert got.to_pylist() == [{"n": 3}]
    for q in querypack.load_all():
        querypack.run(ch_store, q)


# --- import while serving --------------------------------------------------------------------


def test_a_sealed_server_imports_the_records_a_direct_import_stored(
    recorded: tuple[Path, Path], tmp_path: Path
) -> None:
    """Sealed, the server reads a bundle through pyarrow, not DuckDB's Parquet reader: the
    records must still be the same records, so importing again through it adds nothing."""
    db = tmp_path / "fresh.duckdb"
    cfg = make_config(tmp_path, db_path=db)
    first = export.import_bundles(cfg, [recorded[1]])  # no server: DuckDB reads the files
    assert first["inserted"] > 0
    svc = Service(cfg)
    svc.start()
    try:
        assert svc.store.sealed  # type: ignore[attr-defined]
        again = export.import_bundles(cfg, [recorded[1]])  # through the server
        assert again["inserted"] == 0 and again["read"] == first["read"]
    finally:
        svc.stop()
    assert os.path.exists(db)
