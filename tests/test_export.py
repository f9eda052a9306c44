"""Share and keep: a Parquet bundle exported from otelcap answers every query as the store did,
after an import into a fresh database and in place (`query --from`); imports keep each record
once however often and however overlapping; DuckDB, pyarrow and ClickHouse's engine read the
files alike; and no planted secret of the `pii` recording is in a bundle.

Rows get in the real way: recorded Claude Code requests replayed into a running server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import recordings
from conftest import make_config
from otelcap import export, querypack
from otelcap.cli import app
from otelcap.errors import ConfigError
from otelcap.model import schema
from otelcap.service import Service
from otelcap.storage import layout
from otelcap.storage.bundle import BundleError, BundleStore
from otelcap.storage.duckdb import DuckDBStore
from test_privacy_replay import PIECES, PII, PLANTED
from test_queries_golden import VARIANTS, assert_same

QUERIES = [q.name for q in querypack.load_all()]


def _replay(svc: Service, *scenarios: str) -> None:
    for scenario in scenarios:
        for _ in recordings.replay(
            scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
        ):
            pass


def _config(tmp: Path, db: Path) -> Any:
    return make_config(tmp, db_path=db)


def fingerprint(store: Any, whole: bool = True) -> dict[str, tuple[int, int]]:
    """Per table: rows, and the sum of a hash of every whole row (equal multisets of rows
    give equal sums; a row missing, added twice or changed anywhere changes it). Log rows
    are read `whole`, with the attributes a DuckDB file keeps only in typed columns put
    back into LogAttributes (otel_logs_full), or else as the table stores them."""
    out = {}
    for table, sch in schema.TABLES.items():
        cols = ", ".join(f'"{c}"' for c in sch.names)
        source = layout.FULL_VIEW if whole and table == layout.TABLE else table
        row = store.query(
            f'SELECT count(*) AS n, coalesce(sum(hash({cols})), 0) AS h FROM "{source}"'
        ).to_pylist()[0]
        out[table] = (int(row["n"]), int(row["h"]))
    return out


def _fresh_import(tmp: Path, *bundles: Path) -> tuple[Path, dict[str, Any]]:
    db = tmp / "imported.duckdb"
    result = export.import_bundles(_config(tmp, db), list(bundles))
    return db, result


def _fingerprint_of(db: Path) -> dict[str, tuple[int, int]]:
    store = DuckDBStore(db, read_only=True)
    try:
        return fingerprint(store)
    finally:
        store.close()


# --- every recording, exported and imported -------------------------------------------------


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every recording replayed over its own protocol into one server; the database file."""
    tmp = tmp_path_factory.mktemp("source")
    svc = Service(make_config(tmp))
    svc.start()
    try:
        _replay(svc, *recordings.scenarios())
    finally:
        svc.stop()
    return svc.config.database


@pytest.fixture(scope="module")
def bundle(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bundle")
    export.export_bundle(_config(tmp, source), tmp / "bundle")
    return tmp / "bundle"


@pytest.fixture(scope="module")
def round_trip(
    source: Path, bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DuckDBStore, DuckDBStore, BundleStore]]:
    """(the original store, a fresh store the bundle was imported into, the bundle itself)."""
    db, result = _fresh_import(tmp_path_factory.mktemp("fresh"), bundle)
    assert result["inserted"] == result["read"] > 0
    stores = (DuckDBStore(source, read_only=True), DuckDBStore(db, read_only=True))
    in_place = BundleStore(bundle)
    yield stores[0], stores[1], in_place
    for s in (*stores, in_place):
        s.close()


@pytest.mark.parametrize("name", QUERIES)
def test_round_trip_every_query_gives_the_same_answer(
    name: str, round_trip: tuple[DuckDBStore, DuckDBStore, BundleStore]
) -> None:
    original, imported, in_place = round_trip
    for values in ({}, VARIANTS.get(name, {"since": "2026-11-27T22:10:00Z"})):
        want = querypack.run(original, name, values)
        assert_same(want, querypack.run(imported, name, values), f"imported {name} {values}")
        assert_same(want, querypack.run(in_place, name, values), f"--from {name} {values}")
    assert querypack.run(original, name).num_rows > 0


def test_round_trip_keeps_every_row_exactly(
    round_trip: tuple[DuckDBStore, DuckDBStore, BundleStore],
) -> None:
    original, imported, in_place = round_trip
    want = fingerprint(original)
    assert want["otel_logs"][0] > 0 and want["otel_metrics_sum"][0] > 0
    assert want["otel_traces"][0] > 0
    assert fingerprint(imported) == want
    assert fingerprint(in_place) == want  # nanoseconds, maps and nested lists survive Parquet
    # The bundle carries whole maps; the import stores them in the file's layout again.
    assert fingerprint(imported, whole=False) == fingerprint(original, whole=False)


def test_manifest_describes_the_bundle(source: Path, bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["format"] == "otelcap-bundle"
    assert manifest["schema_version"] == schema.SCHEMA_VERSION
    assert manifest["otelcap_version"]
    store = DuckDBStore(source, read_only=True)
    try:
        rows = {t: n for t, (n, _h) in fingerprint(store).items()}
        first = store.query("SELECT min(Timestamp) AS t FROM otel_logs").to_pylist()[0]["t"]
    finally:
        store.close()
    assert {t: v["rows"] for t, v in manifest["tables"].items()} == rows
    assert manifest["rows"] == sum(rows.values())
    assert manifest["tables"]["otel_logs"]["first"].startswith(first.isoformat()[:19])
    assert manifest["time_range"]["first"] <= manifest["tables"]["otel_logs"]["first"]
    rules = manifest["sanitization"]["rules"]
    assert {r["rule"] for r in rules} >= {"prompt-text", "email", "aws-access-key-id"}
    assert all("example" not in r for r in rules)
    assert manifest["sanitization"]["settings"]["privacy_prompts"] == "hash"
    for entry in manifest["files"]:
        path = bundle / entry["path"]
        assert path.parent.name == f"date={entry['date']}" and path.name == "part-0.parquet"
        assert path.parent.parent.name == entry["table"]
        assert export._sha256(path) == entry["sha256"]
        meta = pq.ParquetFile(path).metadata
        assert meta.num_rows == entry["rows"]
        assert meta.row_group(0).column(0).compression == "ZSTD"
    assert str(bundle) not in (bundle / "manifest.json").read_text()  # no local paths


def test_files_are_typed_for_any_reader(bundle: Path) -> None:
    """Timestamps are UTC instants in nanoseconds, maps are Parquet MAPs, lists are LISTs."""
    path = next((bundle / "otel_traces").glob("*/part-0.parquet"))
    parquet_schema = pq.ParquetFile(path).schema
    ts = parquet_schema.column(parquet_schema.names.index("Timestamp"))
    logical = json.loads(ts.logical_type.to_json())
    assert (logical["Type"], logical["isAdjustedToUTC"], logical["timeUnit"]) == (
        "Timestamp", True, "nanoseconds"
    )  # fmt: skip
    arrow = pq.read_schema(path)
    assert arrow.field("SpanAttributes").type == pa.map_(pa.string(), pa.string())
    assert arrow.field("Events.Timestamp").type == pa.list_(pa.timestamp("ns", tz="UTC"))


def _normal(typ: pa.DataType) -> pa.DataType:
    """A type with what differs only in name between readers evened out: the zone's name
    (UTC, Etc/UTC), nullability flags, and the names of list and map children."""
    if pa.types.is_timestamp(typ):
        return pa.timestamp(typ.unit, tz="UTC" if typ.tz in ("UTC", "Etc/UTC") else typ.tz)
    if pa.types.is_list(typ):
        return pa.list_(_normal(typ.value_type))
    if pa.types.is_map(typ):
        return pa.map_(_normal(typ.key_type), _normal(typ.item_type))
    return typ


def test_duckdb_pyarrow_and_clickhouse_read_the_same(bundle: Path) -> None:
    chdb = pytest.importorskip("chdb")
    manifest = json.loads((bundle / "manifest.json").read_text())
    ch = chdb.connect(":memory:")
    duck = duckdb.connect()
    try:
        for table, info in manifest["tables"].items():
            if not info["rows"]:
                continue
            want = {f.name: _normal(f.type) for f in export.export_schema(table)}
            glob = str(bundle / table / "*" / "*.parquet")
            by_pyarrow = pads.dataset(bundle / table, format="parquet", partitioning="hive")
            by_duckdb = duck.sql(f"SELECT * FROM read_parquet('{glob}')").to_arrow_table()
            by_chdb = ch.query(f"SELECT * FROM file('{glob}', Parquet)", "ArrowTable")
            counted = {
                "pyarrow": by_pyarrow.count_rows(),
                "duckdb": by_duckdb.num_rows,
                "chdb": by_chdb.num_rows,
            }
            assert counted == dict.fromkeys(counted, info["rows"]), table
            for reader, sch in (
                ("pyarrow", by_pyarrow.schema),
                ("duckdb", by_duckdb.schema),
                ("chdb", by_chdb.schema),
            ):
                got = {f.name: _normal(f.type) for f in sch if f.name != "date"}  # hive column
                assert got == want, (reader, table)
    finally:
        ch.close()
        duck.close()


# --- idempotent merges ----------------------------------------------------------------------


def test_importing_twice_changes_nothing(bundle: Path, source: Path, tmp_path: Path) -> None:
    db, first = _fresh_import(tmp_path, bundle)
    once = _fingerprint_of(db)
    assert once == _fingerprint_of(source)
    again = export.import_bundles(_config(tmp_path, db), [bundle])
    assert again["inserted"] == 0 and again["already_stored"] == again["read"] == first["read"]
    assert _fingerprint_of(db) == once


def test_overlapping_bundles_store_the_union(source: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, source)
    store = DuckDBStore(source, read_only=True)
    try:
        times = store.query(
            "SELECT Timestamp AS t FROM otel_logs ORDER BY Timestamp"
        ).column("t").to_pylist()  # fmt: skip
    finally:
        store.close()
    early, late = times[len(times) // 3], times[2 * len(times) // 3]
    a = export.export_bundle(cfg, tmp_path / "a", until=late)  # [start, late)
    b = export.export_bundle(cfg, tmp_path / "b", since=early)  # [early, end]
    assert a["rows"] < sum(_fingerprint_of(source)[t][0] for t in schema.TABLES)
    db, result = _fresh_import(tmp_path, tmp_path / "a", tmp_path / "b")
    assert _fingerprint_of(db) == _fingerprint_of(source)
    overlap = a["rows"] + b["rows"] - result["inserted"]
    assert overlap > 0 and result["already_stored"] == overlap
    # and in the other order, into a store that has the union already: nothing new
    again = export.import_bundles(_config(tmp_path, db), [tmp_path / "b", tmp_path / "a"])
    assert again["inserted"] == 0


def test_resume_events_that_share_session_sequence_and_name_are_all_kept(
    server: Service, tmp_path: Path
) -> None:
    """Two processes of one session (`claude --continue`) restart event.sequence: the key
    (session, sequence, event name) repeats for different events. Whole records do not."""
    _replay(server, "resume-grpc")
    collisions = server.store.query(
        "SELECT count(*) - count(DISTINCT (SessionId, EventSequence, EventName)) AS n "
        "FROM otel_logs WHERE EventSequence IS NOT NULL"
    ).to_pylist()[0]["n"]
    assert collisions == 6
    out = tmp_path / "resume"
    manifest = export.export_bundle(server.config, out)  # through the running server
    server.stop()
    db, result = _fresh_import(tmp_path, out)
    assert result["inserted"] == manifest["rows"]
    assert _fingerprint_of(db) == _fingerprint_of(server.config.database)
    again = export.import_bundles(_config(tmp_path, db), [out])
    assert again["inserted"] == 0
    assert _fingerprint_of(db) == _fingerprint_of(server.config.database)


def test_a_record_stored_twice_at_the_source_is_carried_over_not_multiplied(
    tmp_path: Path,
) -> None:
    """Import keeps max(copies in the bundle, copies in the store): a fresh store gets both
    copies of a record the source held twice (a client's retry), a second import none."""
    src = tmp_path / "src.duckdb"
    store = DuckDBStore(src)
    store.create_schema()
    batch = _one_log_row()
    store.append({"otel_logs": [batch]})
    store.append({"otel_logs": [batch]})
    store.close()
    export.export_bundle(_config(tmp_path, src), tmp_path / "twice")
    db, first = _fresh_import(tmp_path, tmp_path / "twice")
    assert first["inserted"] == 2
    again = export.import_bundles(_config(tmp_path, db), [tmp_path / "twice"])
    assert again["inserted"] == 0 and _fingerprint_of(db)["otel_logs"][0] == 2


def _one_log_row() -> pa.RecordBatch:
    import datetime as dt

    values: dict[str, Any] = {}
    for field in schema.LOGS:
        if pa.types.is_timestamp(field.type):
            values[field.name] = [dt.datetime(2026, 11, 27, 12, 0, 0, 123456)]
        elif pa.types.is_map(field.type):
            values[field.name] = [[("session.id", "s-1"), ("event.sequence", "3")]]
        elif pa.types.is_string(field.type):
            values[field.name] = ["x"]
        else:
            values[field.name] = [None]
    return pa.RecordBatch.from_pydict(values, schema=schema.LOGS)


# --- through a running server ---------------------------------------------------------------


@pytest.mark.slow
def test_export_and_import_while_serve_runs(server: Service, bundle: Path, tmp_path: Path) -> None:
    """Other processes cannot open the file serve holds, so export and import from the command
    line go through the server; the merges happen beside ingest, which keeps answering."""
    _replay(server, "toolfail-grpc")
    cfg = server.config
    env = {**os.environ, "OTELCAP_DATA_DIR": str(cfg.data_dir), "OTELCAP_CONFIG": "/nonexistent"}
    probe = f"import duckdb; duckdb.connect({str(cfg.database)!r}, read_only=True)"
    locked = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert locked.returncode != 0 and "lock" in locked.stderr.lower()

    def otelcap(*args: str) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "otelcap.cli", *args, "--db", str(cfg.database)]
        done = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True,
                              env=env, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    local = otelcap("export", str(tmp_path / "local"))
    assert local["tables"]["otel_logs"]["rows"] > 0
    merged = otelcap("import", str(bundle))
    assert merged["inserted"] > 0
    again = otelcap("import", str(bundle), str(tmp_path / "local"))
    assert again["inserted"] == 0
    _replay(server, "tools-grpc")  # ingest still answers after the merges
    rows = server.store.query("SELECT count(*) AS n FROM otel_logs").to_pylist()[0]["n"]
    server.stop()
    assert _fingerprint_of(cfg.database)["otel_logs"][0] == rows


# --- what a bundle must not hold, and what import refuses -------------------------------------


def test_bundle_holds_none_of_the_planted_secrets(server: Service, tmp_path: Path) -> None:
    _replay(server, *PII)
    out = tmp_path / "pii"
    manifest = export.export_bundle(server.config, out)
    assert manifest["tables"]["otel_logs"]["rows"] >= 3 * 19
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        raw = path.read_bytes()  # the manifest; Parquet footers and statistics
        texts = [raw.decode("latin-1")]
        if path.suffix == ".parquet":  # and every value, decompressed: keys, values, lists
            texts.append(json.dumps(pq.read_table(path).to_pylist(), default=str))
        leaks = [p for p in PIECES for text in texts if p in text]
        if leaks:
            found[str(path.relative_to(out))] = leaks
    assert found == {}
    # The planted data was there, only sanitized: prompts are keyed hashes.
    in_place = BundleStore(out)
    try:
        prompts = in_place.query(
            "SELECT LogAttributes['prompt'] AS p FROM otel_logs WHERE EventName = 'user_prompt'"
        ).column("p").to_pylist()  # fmt: skip
    finally:
        in_place.close()
    assert len(prompts) == 3 and all(p.startswith("hmac-sha256:") for p in prompts)
    assert all(s not in json.dumps(manifest) for s in PLANTED)


def test_a_newer_schema_version_is_refused_clearly(bundle: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(bundle, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (newer / "manifest.json").write_text(json.dumps(manifest))
    cfg = _config(tmp_path, tmp_path / "x.duckdb")
    with pytest.raises(BundleError, match=r"schema version 99 .* reads schema version 1"):
        export.import_bundles(cfg, [newer])
    with pytest.raises(BundleError, match="Upgrade otelcap"):
        BundleStore(newer)
    assert not (tmp_path / "x.duckdb").exists()  # refused before anything was opened


def test_damaged_or_incomplete_bundles_are_refused(bundle: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, tmp_path / "x.duckdb")
    damaged = tmp_path / "damaged"
    shutil.copytree(bundle, damaged)
    victim = next((damaged / "otel_logs").glob("*/part-0.parquet"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        export.import_bundles(cfg, [damaged])
    (damaged / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        export.import_bundles(cfg, [damaged])
    escaping = tmp_path / "escaping"
    shutil.copytree(bundle, escaping)
    manifest = json.loads((escaping / "manifest.json").read_text())
    manifest["files"][0]["path"] = "../damaged/" + manifest["files"][0]["path"]
    (escaping / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not a file of the bundle"):
        export.import_bundles(cfg, [escaping])


def test_filters_and_a_non_empty_directory(source: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, source)
    only = export.export_bundle(
        cfg, tmp_path / "only", since="2026-11-27T22:10:00Z", tables=["logs"]
    )
    assert {t for t, v in only["tables"].items()} == {"otel_logs"}
    assert all(f["table"] == "otel_logs" for f in only["files"])
    assert only["tables"]["otel_logs"]["first"] >= "2026-11-27T22:10:00"
    assert only["rows"] > 0
    with pytest.raises(ConfigError, match="not empty"):
        export.export_bundle(cfg, tmp_path / "only")
    with pytest.raises(ConfigError, match="no table 'spans'"):
        export.export_bundle(cfg, tmp_path / "new", tables=["spans"])
    with pytest.raises(ConfigError, match="--since"):
        export.export_bundle(cfg, tmp_path / "new", since="yesterday")


# --- the commands ---------------------------------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    return {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "none")}


def test_export_import_and_query_from_commands(source: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(tmp_path)
    out = tmp_path / "cli-bundle"
    exported = runner.invoke(
        app, ["export", str(out), "--db", str(source), "--format", "json"], env=env
    )
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.output)  # quiet: nothing but the JSON
    assert summary["schema_version"] == schema.SCHEMA_VERSION and summary["files"] > 0

    target = tmp_path / "target.duckdb"
    imported = runner.invoke(
        app, ["import", str(out), "--db", str(target), "--format", "json"], env=env
    )
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["inserted"] == summary["rows"]
    text = runner.invoke(app, ["import", str(out), "--db", str(target)], env=env)
    assert text.exit_code == 0 and f"{summary['rows']:,} already stored" in text.output

    on_store = runner.invoke(
        app, ["query", "sessions", "--db", str(source), "--format", "json"], env=env
    )
    on_bundle = runner.invoke(
        app, ["query", "sessions", "--from", str(out), "--format", "json"], env=env
    )
    assert on_bundle.exit_code == 0, on_bundle.output
    assert json.loads(on_bundle.output) == json.loads(on_store.output)
    counted = runner.invoke(
        app, ["sql", "SELECT count(*) AS n FROM otel_logs", "--from", str(out)], env=env
    )
    assert counted.exit_code == 0 and str(summary["tables"]["otel_logs"]["rows"]) in counted.output

    missing = runner.invoke(app, ["import", str(tmp_path / "nope"), "--db", str(target)], env=env)
    assert missing.exit_code == 1 and "not a directory" in missing.output


def test_export_from_clickhouse_gives_the_bundle_duckdb_gives(tmp_path: Path) -> None:
    """The same rows in ClickHouse (its engine in-process) and in DuckDB export to bundles
    that hold the same records."""
    pytest.importorskip("chdb")
    from otelcap.storage import open_store
    from stores import clickhouse_config, full_batch

    batches = {t: [full_batch(t, 7)] for t in schema.TABLES}
    duck_db = tmp_path / "duck.duckdb"
    duck = DuckDBStore(duck_db)
    duck.create_schema()
    duck.append(batches)
    duck.close()
    export.export_bundle(_config(tmp_path, duck_db), tmp_path / "from-duckdb")

    ch_cfg = clickhouse_config(tmp_path, "chdb")
    ch = open_store(ch_cfg)
    try:
        ch.create_schema()
        ch.append(batches)
        manifest = export.export_bundle(ch_cfg, tmp_path / "from-clickhouse")
    finally:
        ch.close()
    assert manifest["backend"] == "clickhouse" and manifest["rows"] == 7 * len(schema.TABLES)
    stores = [BundleStore(tmp_path / "from-duckdb"), BundleStore(tmp_path / "from-clickhouse")]
    try:
        assert fingerprint(stores[0]) == fingerprint(stores[1])
    finally:
        for s in stores:
            s.close()
