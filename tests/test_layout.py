"""The DuckDB attribute layout (storage/layout.py): otelcap's DuckDB file keeps a promoted
attribute only in its typed column, `otel_logs_full` gives every map back whole, ClickHouse
gets whole maps, and files written with whole maps keep working beside the new rows.

Rows get in the real way: the recorded Claude Code requests, converted and sanitized by
otelcap's own model and sanitizer, through a running server or the store's append.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import recordings
from conftest import make_config
from otelcap import export
from otelcap.model import schema, to_batches
from otelcap.receiver import decode
from otelcap.sanitize import Sanitizer
from otelcap.storage import layout
from otelcap.storage.duckdb import DuckDBStore
from stores import chdb_store, close_chdb_store

SINGLE_KEYS = {key for _, key, _ in layout.SINGLE_COPY}


def _recorded_log_batches(sanitizer: Sanitizer) -> list[pa.RecordBatch]:
    """Every recorded logs request, converted and sanitized as the server does."""
    out = []
    for scenario in recordings.scenarios():
        for req in recordings.load(scenario):
            if req.signal != "logs":
                continue
            body = req.body
            if req.protocol == "http-json":
                body = decode.parse_json("logs", body).SerializeToString()
            batches = sanitizer.sanitize(to_batches("logs", body).batches)
            if "otel_logs" in batches:
                out.append(batches["otel_logs"])
    return out


def _records(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Log rows as a multiset of (time, body, attributes in key order): map order aside."""
    return Counter((r["Timestamp"], r["Body"], tuple(sorted(r["LogAttributes"]))) for r in rows)


def test_recorded_rows_keep_promoted_keys_once_and_the_view_gives_them_back(
    recorded_db: Path,
) -> None:
    store = DuckDBStore(recorded_db, read_only=True)
    try:
        stored = store.query('SELECT "LogAttributes" FROM otel_logs').column(0).to_pylist()
        whole = store.query(
            'SELECT "Timestamp", "Body", "LogAttributes" FROM otel_logs_full'
        ).to_pylist()
    finally:
        store.close()
    # The recordings' promoted values all parse and print back as sent: none stays twice.
    left = Counter(k for m in stored for k, _ in m if k in SINGLE_KEYS)
    assert not left, left
    # The same requests, converted and sanitized here (the server's data directory has the
    # privacy key), give exactly the maps the view shows.
    sanitizer = Sanitizer(make_config(recorded_db.parent.parent))
    want = pa.Table.from_batches(_recorded_log_batches(sanitizer)).select(
        ["Timestamp", "Body", "LogAttributes"]
    )
    assert _records(whole) == _records(want.to_pylist())
    kept = sum(len(m) for m in stored)
    sent = sum(len(r["LogAttributes"]) for r in whole)
    assert kept < 0.75 * sent  # ~37% of Claude Code's attribute entries have typed columns


def _row(attrs: list[tuple[str, str]], **cols: Any) -> dict[str, Any]:
    import datetime as dt

    row: dict[str, Any] = {}
    for field in schema.LOGS:
        if pa.types.is_timestamp(field.type):
            row[field.name] = dt.datetime(2026, 11, 27, 12, 0, 0)
        elif pa.types.is_map(field.type):
            row[field.name] = []
        elif pa.types.is_string(field.type):
            row[field.name] = ""
        else:
            row[field.name] = None
    row["LogAttributes"] = attrs
    row.update(cols)
    return row


def _through_the_model(attrs: list[tuple[str, str]]) -> pa.RecordBatch:
    """One log record with these string attributes, converted by otelcap's model."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    req = ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add()
    rec.time_unix_nano = 1_764_244_800_000_000_000
    for key, value in attrs:
        kv = rec.attributes.add()
        kv.key = key
        kv.value.string_value = value
    return to_batches("logs", req.SerializeToString()).batches["otel_logs"]


ODD_VALUES = [
    ("event.sequence", "0012"),  # parses as 12, which prints "12"
    ("attempt", "2.0"),  # a whole number written as a float
    ("success", "True"),  # true, but not as Claude Code writes it
    ("cost_usd", "100.0"),  # DuckDB and Arrow print 100.0 differently
    ("duration_ms", "0.00001"),  # below 1e-4 DuckDB prints 1e-05
    ("ttft_ms", "1e-05"),  # an exponent
    ("input_tokens", "many"),  # not a number: NULL in the column
    ("tool_name", ""),  # an empty string is "absent" in a string column
    ("app.version", "2.1.140"),  # its column falls back to service.version
]
CLEAN_VALUES = [
    ("session.id", "s-1"),
    ("prompt.id", "p-1"),
    ("status_code", "429"),
    ("output_tokens", "-7"),
    ("cost_usd_micros", "12"),  # not promoted
    ("decision", "accept"),
]


def test_a_key_leaves_the_map_only_when_its_column_gives_it_back_exactly(
    tmp_path: Path,
) -> None:
    """Values that would not come back byte for byte stay in the map; the rest leave it."""
    attrs = [*ODD_VALUES, *CLEAN_VALUES]
    floats = ["0", "0.0001", "0.000123", "0.5", "-1.25", "1234", "99999.5", "1000000000.5"]
    floats += [repr(x) for x in (0.1 + 0.2, 2.0 / 3, 12345.678901234567)]
    batch = pa.concat_batches(
        [_through_the_model(attrs)]
        + [_through_the_model([("duration_ms", f), ("ttft_ms", f)]) for f in floats]
    )
    store = DuckDBStore(tmp_path / "odd.duckdb")
    store.create_schema()
    store.append({"otel_logs": [batch]})
    stored = store.query('SELECT "LogAttributes" FROM otel_logs').column(0).to_pylist()
    whole = store.query('SELECT "LogAttributes" FROM otel_logs_full').column(0).to_pylist()
    store.close()
    odd = {k for k, _ in ODD_VALUES}
    assert {k for k, _ in stored[0]} == odd | {"cost_usd_micros"}
    assert dict(whole[0]) == dict(attrs)
    for f, kept, back in zip(floats, stored[1:], whole[1:], strict=True):
        assert dict(back) == {"duration_ms": f, "ttft_ms": f}, f
        # Plain decimals from 1e-4 to 1e10 (where Arrow starts writing an exponent) print the
        # same in both engines: they leave the map.
        assert kept == [], f


def test_duckdb_keeps_a_single_copy_and_clickhouse_the_whole_map(tmp_path: Path) -> None:
    batch = _through_the_model(CLEAN_VALUES)
    duck = DuckDBStore(tmp_path / "one.duckdb")
    duck.create_schema()
    duck.append({"otel_logs": [batch]})
    ch = chdb_store(ttl_days=0)
    try:
        ch.append({"otel_logs": [batch]})
        in_ch = ch.query("SELECT LogAttributes, SessionId FROM otel_logs").to_pylist()
        in_duck = duck.query('SELECT "LogAttributes", "SessionId" FROM otel_logs').to_pylist()
    finally:
        close_chdb_store(ch)
        duck.close()
    assert dict(in_ch[0]["LogAttributes"]) == dict(CLEAN_VALUES)
    assert in_ch[0]["SessionId"] == in_duck[0]["SessionId"] == "s-1"
    assert dict(in_duck[0]["LogAttributes"]) == {"cost_usd_micros": "12"}


def _old_file(path: Path, rows: list[dict[str, Any]]) -> None:
    """A file as an otelcap before this layout wrote it: every attribute in the map."""
    store = DuckDBStore(path)
    store.create_schema()
    store.close()
    con = duckdb.connect(str(path))
    try:
        con.execute("DROP VIEW otel_logs_full")
        old = pa.Table.from_pylist(rows, schema=schema.LOGS)  # noqa: F841 (read by DuckDB)
        con.execute("INSERT INTO otel_logs BY NAME SELECT * FROM old")
    finally:
        con.close()


def test_a_file_written_with_whole_maps_keeps_working(tmp_path: Path) -> None:
    """Old rows keep their keys; new rows beside them are single copy; the view, the query
    pack and import treat both as the same records."""
    old_rows = [
        _row(
            [("session.id", "s-old"), ("event.sequence", "1"), ("user.id", "u")],
            SessionId="s-old", EventSequence=1, EventName="user_prompt",
        )
    ]  # fmt: skip
    db = tmp_path / "old.duckdb"
    _old_file(db, old_rows)
    store = DuckDBStore(db)
    store.create_schema()  # what `otelcap serve` does first: the view is there again
    store.append({"otel_logs": [_through_the_model(CLEAN_VALUES)]})
    stored = store.query(
        'SELECT "SessionId", "LogAttributes" FROM otel_logs ORDER BY "SessionId"'
    ).to_pylist()
    whole = store.query(
        'SELECT "SessionId", "LogAttributes" FROM otel_logs_full ORDER BY "SessionId"'
    ).to_pylist()
    sessions = store.query(
        "SELECT count(DISTINCT SessionId) AS n FROM otel_logs WHERE SessionId <> ''"
    ).to_pylist()[0]["n"]
    store.close()
    assert dict(stored[1]["LogAttributes"]) == dict(old_rows[0]["LogAttributes"])  # untouched
    assert dict(stored[0]["LogAttributes"]) == {"cost_usd_micros": "12"}
    assert [dict(r["LogAttributes"]) for r in whole] == [
        dict(CLEAN_VALUES),
        dict(old_rows[0]["LogAttributes"]),
    ]
    assert sessions == 2
    # Its export carries whole maps; importing that bundle into the old file adds nothing
    # (a record compares equal in either layout), and into a fresh file, both records.
    bundle = tmp_path / "bundle"
    export.export_bundle(make_config(tmp_path, db_path=db), bundle)
    again = export.import_bundles(make_config(tmp_path, db_path=db), [bundle])
    assert again["inserted"] == 0 and again["already_stored"] == 2
    fresh = tmp_path / "fresh.duckdb"
    first = export.import_bundles(make_config(tmp_path, db_path=fresh), [bundle])
    assert first["inserted"] == 2
    reopened = DuckDBStore(fresh, read_only=True)
    try:
        maps = reopened.query(
            'SELECT "LogAttributes" FROM otel_logs_full ORDER BY "SessionId"'
        ).column(0).to_pylist()  # fmt: skip
        left = reopened.query(
            "SELECT count(*) AS n FROM otel_logs WHERE LogAttributes['session.id'] IS NOT NULL"
        ).to_pylist()[0]["n"]
    finally:
        reopened.close()
    assert [dict(m) for m in maps] == [dict(r["LogAttributes"]) for r in whole]
    assert left == 0  # the import stores the file's layout


@pytest.mark.parametrize("whole", [False, True])
def test_export_of_the_bundle_store_is_whole_either_way(tmp_path: Path, whole: bool) -> None:
    """A bundle is read by `otelcap sql --from` through the same view name."""
    from otelcap.storage.bundle import BundleStore

    db = tmp_path / "src.duckdb"
    if whole:
        _old_file(db, [_row(list(CLEAN_VALUES), SessionId="s-1")])
    else:
        store = DuckDBStore(db)
        store.create_schema()
        store.append({"otel_logs": [_through_the_model(CLEAN_VALUES)]})
        store.close()
    export.export_bundle(make_config(tmp_path, db_path=db), tmp_path / "b")
    bundle = BundleStore(tmp_path / "b")
    try:
        for view in ("otel_logs", "otel_logs_full"):
            got = bundle.query(f'SELECT "LogAttributes" FROM {view}').column(0).to_pylist()
            assert [dict(m) for m in got] == [dict(CLEAN_VALUES)], view
    finally:
        bundle.close()


def test_otelcap_sql_reads_any_attribute_from_otel_logs_full(recorded_db: Path) -> None:
    """The help's example: a promoted attribute and a plain one, from the whole maps."""
    import json

    from typer.testing import CliRunner

    from otelcap.cli import app

    statement = (
        "SELECT count(*) AS n, count(LogAttributes['session.id']) AS sessions, "
        "count(LogAttributes['user.id']) AS users, "
        "count(*) FILTER (LogAttributes['session.id'] = SessionId) AS same FROM otel_logs_full"
    )
    res = CliRunner().invoke(
        app, ["sql", statement, "--db", str(recorded_db), "--format", "json"], env={}
    )
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output)
    assert row["n"] > 0 and row["sessions"] == row["same"] == row["users"] == row["n"]
