"""Repository, the column the store derives from the maps, on both engines; and files and
bundles of an older otelcap, which lack it (and other later columns), still answering."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import stores
from otelcap import querypack
from otelcap.model import schema
from otelcap.storage.bundle import BundleStore
from otelcap.storage.duckdb import DuckDBStore

T0 = dt.datetime(2026, 11, 30, 9)

# (log attributes, resource attributes, the project --by project gives the row)
CASES: list[tuple[dict[str, str], dict[str, str], str]] = [
    ({"vcs.repository.name": "acme/api"}, {}, "acme/api"),
    ({"vcs.repository.name": "acme/api"}, {"vcs.repository.name": "x"}, "acme/api"),
    ({}, {"vcs.repository.name": "acme/web"}, "acme/web"),
    # the record's name comes before the resource's, a name before a URL
    ({"vcs.repository.name": "rec"}, {"vcs.repository.name": "res"}, "rec"),
    ({"vcs.repository.url.full": "https://git.example/u"}, {"vcs.repository.name": "n"}, "n"),
    ({"vcs.repository.url.full": "https://git.example/u"}, {}, "https://git.example/u"),
    ({}, {"vcs.repository.url.full": "https://git.example/r"}, "https://git.example/r"),
    ({"vcs.repository.name": ""}, {}, "(no repository)"),  # an empty value is no value
    ({}, {}, "(no repository)"),
]


def batch() -> pa.RecordBatch:
    """A user_prompt and an api_request per case, as the model makes them (no Repository)."""
    rows = []
    for j, event in enumerate(("user_prompt", "api_request") * len(CASES)):
        i = j // 2
        log_attrs, res_attrs, _ = CASES[i]
        row: dict[str, Any] = dict(
            Timestamp=T0 + dt.timedelta(minutes=i, seconds=j % 2),
            ObservedTimestamp=T0,
            ServiceName="claude-code",
            EventName=event,
            SessionId=f"s-{i}",
            PromptId=f"p-{i}",
            Model="claude-sonnet-4-5",
        )
        if event == "api_request":
            row.update(CostUsd=1.0 + i, InputTokens=10 * i, TtftMs=100.0 + i)
            log_attrs = {**log_attrs, "ttft_ms": str(100.0 + i)}
        row.update(
            LogAttributes=list(log_attrs.items()),
            ResourceAttributes=list(res_attrs.items()),
            ScopeAttributes=[],
        )
        rows.append(row)
    return stores.model_batch(schema.LOGS, rows)


WANT = {f"s-{i}": project for i, (_, _, project) in enumerate(CASES)}


def projects(store: Any) -> dict[str, str]:
    rows = querypack.run(store, "sessions").to_pylist()
    return {r["session_id"]: r["project"] for r in rows}


def cost_by_project(store: Any) -> dict[str, float]:
    rows = querypack.run(store, "cost", {"by": "project"}).to_pylist()
    out: dict[str, float] = {}
    for r in rows:
        if r["model"] != "total":  # cost's own sum row
            out[r["model"]] = out.get(r["model"], 0.0) + r["cost_usd"]
    return out


def want_cost() -> dict[str, float]:
    out: dict[str, float] = {}
    for i, (_, _, project) in enumerate(CASES):
        out[project] = out.get(project, 0.0) + 1.0 + i
    return out


def test_the_store_derives_repository_from_the_maps_on_both_engines(tmp_path: Path) -> None:
    duck = DuckDBStore(tmp_path / "d.duckdb")
    duck.create_schema()
    duck.append({"otel_logs": [batch()]})
    click = stores.chdb_store(ttl_days=0)
    try:
        click.append({"otel_logs": [batch()]})  # otelcap sends no Repository: the DEFAULT
        sql = "SELECT SessionId, Repository FROM otel_logs ORDER BY SessionId"
        stored = dict(
            sorted((r["SessionId"], r["Repository"]) for r in duck.query(sql).to_pylist())
        )
        assert stored == {s: ("" if p == "(no repository)" else p) for s, p in WANT.items()}
        ch = click.query(sql).to_pylist()
        assert dict(sorted((r["SessionId"], r["Repository"]) for r in ch)) == stored
        assert projects(duck) == projects(click) == WANT
        assert cost_by_project(duck) == cost_by_project(click) == want_cost()
        filtered = querypack.run(duck, "cost", {"project": "acme/web"}).to_pylist()
        assert sum(r["cost_usd"] for r in filtered if r["model"] != "total") == 3.0
    finally:
        stores.close_chdb_store(click)
        duck.close()


def old_file(path: Path) -> None:
    """A file as an otelcap before Repository and TtftMs wrote it."""
    store = DuckDBStore(path)
    store.create_schema()
    store.append({"otel_logs": [batch()]})
    store.close()
    con = duckdb.connect(str(path))
    con.execute("DROP VIEW IF EXISTS otel_logs_full")  # it names every column
    con.execute('ALTER TABLE otel_logs DROP COLUMN "Repository"')
    con.execute('ALTER TABLE otel_logs DROP COLUMN "TtftMs"')
    con.close()


def columns_of(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute('DESCRIBE "otel_logs"').fetchall()}
    finally:
        con.close()


def test_an_older_file_answers_read_only_and_is_upgraded_when_opened_to_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.duckdb"
    old_file(path)
    before = path.read_bytes()
    reader = DuckDBStore(path, read_only=True)
    try:
        assert projects(reader) == WANT  # computed by the reader's views
        ttft = reader.query("SELECT max(TtftMs) AS m FROM otel_logs").column(0)[0].as_py()
        assert ttft == 100.0 + len(CASES) - 1  # from the map, as the DEFAULT would
        # `otelcap sql` sees the same columns as on a new file
        assert "Repository" in reader.query("SELECT * FROM otel_logs LIMIT 0").column_names
    finally:
        reader.close()
    assert path.read_bytes() == before  # a reader changes nothing
    assert "Repository" not in columns_of(path)

    with caplog.at_level(logging.WARNING, logger="otelcap.storage.duckdb"):
        writer = DuckDBStore(path)
    try:
        added = [r.getMessage() for r in caplog.records if "older otelcap" in r.getMessage()]
        assert len(added) == 2 and any("otel_logs.Repository" in m for m in added)
        writer.create_schema()
        assert projects(writer) == WANT
        assert cost_by_project(writer) == want_cost()
        writer.append({"otel_logs": [batch()]})  # the new rows go in beside the old ones
        assert sum(cost_by_project(writer).values()) == 2 * sum(want_cost().values())
    finally:
        writer.close()
    assert {"Repository", "TtftMs"} <= columns_of(path)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="otelcap.storage.duckdb"):
        DuckDBStore(path).close()  # upgraded once: nothing more to add
    assert not [r for r in caplog.records if "older otelcap" in r.getMessage()]


def test_a_bundle_without_repository_is_queried_and_imported_with_it(tmp_path: Path) -> None:
    from conftest import make_config
    from otelcap import export

    src = DuckDBStore(tmp_path / "src.duckdb")
    src.create_schema()
    src.append({"otel_logs": [batch()]})
    src.close()
    bundle = tmp_path / "bundle"
    export.export_bundle(make_config(tmp_path, db_path=tmp_path / "src.duckdb"), bundle)
    # the bundle as an older otelcap exported it: its Parquet files lack the column
    manifest = json.loads((bundle / "manifest.json").read_text())
    dropped = 0
    for entry in manifest["files"]:
        f = bundle / entry["path"]
        t = pq.read_table(f)
        if "Repository" in t.column_names:
            pq.write_table(t.drop(["Repository"]), f)
            entry["sha256"] = hashlib.sha256(f.read_bytes()).hexdigest()
            dropped += 1
    assert dropped
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    store = BundleStore(bundle)
    try:
        assert projects(store) == WANT
    finally:
        store.close()
    db = tmp_path / "imported.duckdb"
    export.import_bundles(make_config(tmp_path, db_path=db), [bundle])
    imported = DuckDBStore(db, read_only=True)
    try:
        assert projects(imported) == WANT
        assert cost_by_project(imported) == want_cost()
    finally:
        imported.close()


def test_an_older_clickhouse_table_gets_repository_when_the_store_starts() -> None:
    """A table an older otelcap made lacks the column; the next start adds it, and rows
    stored before get it from the DEFAULT as ClickHouse reads them."""
    from otelcap.storage.clickhouse import ClickHouseStore

    old = stores.chdb_store(ttl_days=0)
    try:
        assert old._client is not None
        old._client.command("ALTER TABLE otel_logs DROP COLUMN Repository")
        old.append({"otel_logs": [batch()]})  # stored without the column
        new = ClickHouseStore(old.target, 0)  # old stays open: chdb's engine lives with it
        try:
            new.create_schema()
            assert projects(new) == WANT
            assert cost_by_project(new) == want_cost()
        finally:
            new.close()
    finally:
        stores.close_chdb_store(old)
