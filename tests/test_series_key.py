"""SeriesKey, the key of a metric series each store computes as it stores a point: the
cumulative sums sessions and outcomes follow by it, on both engines; a DuckDB file whose keys
another hash() computed; bundles, which never carry it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
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
RESOURCE = [("service.name", "claude-code"), ("host.arch", "arm64")]
LINES = "claude_code.lines_of_code.count"
COMMITS = "claude_code.commit.count"
COST = "claude_code.cost.usage"

# Cumulative points, (session, metric, type, minute, value): one process per session, its
# series starting at T0. Each series' increments sum to its last value.
POINTS = [
    ("s-1", LINES, "added", 1, 10.0),
    ("s-1", LINES, "removed", 1, 3.0),
    ("s-1", COMMITS, "", 1, 1.0),
    ("s-2", LINES, "added", 1, 7.0),
    ("s-1", LINES, "added", 2, 25.0),
    ("s-1", LINES, "removed", 2, 5.0),
    ("s-2", LINES, "added", 2, 9.0),
    # the second half: the same series going on
    ("s-1", LINES, "added", 3, 40.0),
    ("s-1", COMMITS, "", 3, 2.0),
    ("s-2", LINES, "added", 3, 30.0),
]
FIRST, SECOND = POINTS[:7], POINTS[7:]
# (lines added, lines removed, commits) per session
WANT_FIRST = {"s-1": (25, 5, 1), "s-2": (9, 0, 0)}
WANT_ALL = {"s-1": (40, 5, 2), "s-2": (30, 0, 0)}


def sums(points: list[tuple[str, str, str, int, float]], **more: Any) -> pa.RecordBatch:
    """otel_metrics_sum rows as the model makes them (no SeriesKey); `more` holds a list of
    (start minute, temporality) per point."""
    rows = []
    shapes = more.get("shapes") or [(0, 2)] * len(points)
    for (session, metric, kind, minute, value), (start, temporality) in zip(
        points, shapes, strict=True
    ):
        attrs = [("session.id", session), *([("type", kind)] if kind else [])]
        row: dict[str, Any] = dict(
            ResourceAttributes=RESOURCE,
            ScopeAttributes=[],
            Attributes=attrs,
            ServiceName="claude-code",
            MetricName=metric,
            StartTimeUnix=T0 + dt.timedelta(minutes=start),
            TimeUnix=T0 + dt.timedelta(minutes=minute),
            Value=value,
            AggregationTemporality=temporality,  # 1 delta, 2 cumulative
            IsMonotonic=True,
            SessionId=session,
            Type=kind,
        )
        rows.append(row)
    return stores.model_batch(schema.METRICS_SUM, rows)


def prompts(minutes: range = range(1)) -> pa.RecordBatch:
    """A user_prompt per session (at T0 + each of `minutes`), so `sessions` lists them."""
    rows = []
    for i, (session, minute) in enumerate((s, m) for s in sorted(WANT_ALL) for m in minutes):
        row: dict[str, Any] = dict(
            Timestamp=T0 + dt.timedelta(minutes=minute, seconds=i % 60),
            ObservedTimestamp=T0,
            ServiceName="claude-code",
            EventName="user_prompt",
            SessionId=session,
            PromptId=f"p-{i}",
            LogAttributes=[],
            ResourceAttributes=RESOURCE,
            ScopeAttributes=[],
        )
        rows.append(row)
    return stores.model_batch(schema.LOGS, rows)


def outcomes(store: Any, values: dict[str, str] | None = None) -> dict[str, tuple[int, int, int]]:
    rows = querypack.run(store, "sessions", values).to_pylist()
    return {
        r["session_id"]: (r["lines_added"], r["lines_removed"], r["commits"])
        for r in rows
        if r["session_id"] in WANT_ALL
    }


def keys(store: Any) -> list[tuple[str, str, str, int]]:
    sql = "SELECT SessionId, MetricName, Type, SeriesKey FROM otel_metrics_sum"
    return [
        (r["SessionId"], r["MetricName"], r["Type"], r["SeriesKey"])
        for r in store.query(sql).to_pylist()
    ]


def one_key_per_series(store: Any) -> None:
    by_series: dict[tuple[str, str, str], set[int]] = {}
    for session, metric, kind, key in keys(store):
        by_series.setdefault((session, metric, kind), set()).add(key)
    assert len(by_series) == 4 and all(len(k) == 1 for k in by_series.values())
    assert len({next(iter(k)) for k in by_series.values()}) == 4  # four series, four keys


def duck_store(path: Path, *parts: list[tuple[str, str, str, int, float]]) -> DuckDBStore:
    store = DuckDBStore(path)
    store.create_schema()
    store.append({"otel_logs": [prompts()]})
    for part in parts:
        store.append({"otel_metrics_sum": [sums(part)]})
    return store


def test_each_store_keys_the_series_as_it_stores_them(tmp_path: Path) -> None:
    duck = duck_store(tmp_path / "d.duckdb", FIRST, SECOND)
    click = stores.chdb_store(ttl_days=0)
    try:
        click.append({"otel_logs": [prompts()]})
        for part in (FIRST, SECOND):  # otelcap sends no SeriesKey: ClickHouse's DEFAULT
            click.append({"otel_metrics_sum": [sums(part)]})
        for store in (duck, click):
            one_key_per_series(store)
            assert outcomes(store) == WANT_ALL
        # DuckDB's key is the expression storage/upgrade.py gives every path
        differ = duck.query(
            "SELECT count(*) AS n FROM otel_metrics_sum WHERE SeriesKey <> "
            "hash(MetricName, ServiceName, ResourceAttributes, Attributes)"
        )
        assert differ.column("n").to_pylist() == [0]
    finally:
        stores.close_chdb_store(click)
        duck.close()


def restamp(path: Path) -> None:
    """Keys as another DuckDB's hash() might have made them: all different, one per series."""
    con = duckdb.connect(str(path))
    con.execute("UPDATE otel_metrics_sum SET SeriesKey = xor(SeriesKey, 12345)")
    con.close()


def test_keys_of_another_hash_are_computed_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.duckdb"
    duck_store(path, FIRST).close()
    restamp(path)
    before = path.read_bytes()
    reader = DuckDBStore(path, read_only=True)
    try:
        assert outcomes(reader) == WANT_FIRST
        one_key_per_series(reader)  # through the reader's view, this DuckDB's keys
        now = reader.query(
            "SELECT hash(MetricName, ServiceName, ResourceAttributes, Attributes) AS k "
            "FROM otel_metrics_sum"
        )
        assert {k for *_, k in keys(reader)} == set(now.column("k").to_pylist())
    finally:
        reader.close()
    assert path.read_bytes() == before  # a reader changes nothing

    with caplog.at_level(logging.WARNING, logger="otelcap.storage.duckdb"):
        writer = DuckDBStore(path)
    try:
        done = [r.getMessage() for r in caplog.records if "recomputed" in r.getMessage()]
        assert len(done) == 1 and "otel_metrics_sum.SeriesKey" in done[0]
        # the series go on with keys of this DuckDB: one series each, not two (the first
        # point after the change would count its whole cumulative value again)
        writer.append({"otel_metrics_sum": [sums(SECOND)]})
        one_key_per_series(writer)
        assert outcomes(writer) == WANT_ALL
    finally:
        writer.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="otelcap.storage.duckdb"):
        DuckDBStore(path).close()  # computed once: nothing more to do
    assert not [r for r in caplog.records if "recomputed" in r.getMessage()]


def test_bundles_carry_no_key_and_whatever_reads_one_computes_it(tmp_path: Path) -> None:
    from conftest import make_config
    from otelcap import export

    duck_store(tmp_path / "src.duckdb", FIRST, SECOND).close()
    bundle = tmp_path / "bundle"
    export.export_bundle(make_config(tmp_path, db_path=tmp_path / "src.duckdb"), bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    files = [bundle / e["path"] for e in manifest["files"] if e["table"] == "otel_metrics_sum"]
    assert files
    for f in files:
        names = pq.read_schema(f).names
        assert "SeriesKey" not in names and "Attributes" in names

    store = BundleStore(bundle)
    try:
        assert outcomes(store) == WANT_ALL
        one_key_per_series(store)
    finally:
        store.close()
    db = tmp_path / "imported.duckdb"
    config = make_config(tmp_path, db_path=db)
    export.import_bundles(config, [bundle])
    export.import_bundles(config, [bundle])  # again: the same rows, nothing added
    imported = DuckDBStore(db, read_only=True)
    try:
        assert outcomes(imported) == WANT_ALL
        one_key_per_series(imported)
        assert len(keys(imported)) == len(POINTS)
    finally:
        imported.close()


def test_an_older_clickhouse_table_gets_series_keys_when_the_store_starts() -> None:
    from otelcap.storage.clickhouse import ClickHouseStore

    old = stores.chdb_store(ttl_days=0)
    try:
        assert old._client is not None
        old._client.command("ALTER TABLE otel_metrics_sum DROP COLUMN SeriesKey")
        old.append({"otel_logs": [prompts()], "otel_metrics_sum": [sums(POINTS)]})
        new = ClickHouseStore(old.target, 0)  # old stays open: chdb's engine lives with it
        try:
            new.create_schema()
            one_key_per_series(new)
            assert outcomes(new) == WANT_ALL
        finally:
            new.close()
    finally:
        stores.close_chdb_store(old)


def reference(
    points: list[tuple[str, str, str, int, float]],
    shapes: list[tuple[int, int]],
    since: int,
    until: int,
) -> dict[str, tuple[int, int, int, float]]:
    """What sessions' metric columns and cost's metric must be, point by point: a series'
    points in (time, start, value) order; a delta point counts whole, a cumulative one what it
    grew since the point before it, or whole when the series starts, restarts or drops."""
    series: dict[tuple[str, str, str, int], list[tuple[int, int, float]]] = {}
    for (session, metric, kind, minute, value), (start, temporality) in zip(
        points, shapes, strict=True
    ):
        series.setdefault((session, metric, kind, temporality), []).append((minute, start, value))
    out = {s: [0.0, 0.0, 0.0, 0.0] for s in WANT_ALL}
    column = {(LINES, "added"): 0, (LINES, "removed"): 1, (COMMITS, ""): 2, (COST, ""): 3}
    for (session, metric, kind, temporality), pts in series.items():
        prev: tuple[int, int, float] | None = None
        for minute, start, value in sorted(pts):
            if temporality == 1 or prev is None or start != prev[1] or value < prev[2]:
                grew = value
            else:
                grew = value - prev[2]
            if since <= minute < until:
                out[session][column[(metric, kind)]] += grew
            prev = (minute, start, value)
    return {s: (int(a), int(b), int(c), usd) for s, (a, b, c, usd) in out.items()}


def mixed_series() -> tuple[list[tuple[str, str, str, int, float]], list[tuple[int, int]]]:
    """Series with restarts (a new start, from a lower value), drops, points that share a
    time, and a delta series, in no particular order."""
    rng = random.Random(7)
    points, shapes = [], []
    for session in WANT_ALL:
        for metric, kind, temporality in (
            (LINES, "added", 2), (LINES, "removed", 2), (COMMITS, "", 1), (COST, "", 2),
        ):  # fmt: skip
            start, value = 0, 0.0
            for step in range(14):
                minute = 2 * step + rng.choice((0, 0, 1))  # now and then two at one time
                if rng.random() < 0.15:
                    start, value = minute, 0.0  # a --continue process: a new series start
                if temporality == 1:
                    grew = float(rng.randint(0, 3))
                elif rng.random() < 0.1:
                    grew = -float(rng.randint(1, 5))  # a drop: counted whole
                else:
                    grew = float(rng.randint(0, 20))
                value = max(0.0, value + grew) if temporality == 2 else grew
                points.append((session, metric, kind, minute, value))
                shapes.append((start, temporality))
    order = list(range(len(points)))
    rng.shuffle(order)
    return [points[i] for i in order], [shapes[i] for i in order]


@pytest.mark.parametrize("window", [(0, 10_000), (9, 10_000), (0, 17), (9, 17), (13, 14)])
def test_increments_in_a_time_window_match_a_point_by_point_count(
    tmp_path: Path, window: tuple[int, int]
) -> None:
    """since/until cut series anywhere: the first point after since counts only its growth
    from the last one before, on both engines, in sessions, sessions-by and cost's metric."""
    points, shapes = mixed_series()
    since, until = window
    full = reference(points, shapes, since, until)
    want = {s: v[:3] for s, v in full.items()}
    assert any(v != (0, 0, 0) for v in want.values())
    values = {
        "since": (T0 + dt.timedelta(minutes=since)).isoformat(),
        "until": (T0 + dt.timedelta(minutes=until)).isoformat(),
    }
    duck = DuckDBStore(tmp_path / "w.duckdb")
    duck.create_schema()
    click = stores.chdb_store(ttl_days=0)
    try:
        for store in (duck, click):
            store.append({"otel_logs": [prompts(minutes=range(40))]})
            store.append({"otel_metrics_sum": [sums(points, shapes=shapes)]})
            assert outcomes(store, values) == want
            by = querypack.run(store, "sessions-by", {**values, "by": "session"}).to_pylist()
            got = {r["model"]: (r["lines_added"], r["lines_removed"], r["commits"]) for r in by}
            assert got == want
            cost = querypack.run(store, "cost", values).to_pylist()
            total = next(r for r in cost if r["model"] == "total")
            assert total["metric_cost_usd"] == pytest.approx(sum(v[3] for v in full.values()))
    finally:
        stores.close_chdb_store(click)
        duck.close()
