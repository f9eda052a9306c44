"""Share and keep: `otelcap export` writes a sanitized Parquet bundle, `otelcap import` merges
bundles into the DuckDB store. The layout on disk is storage/bundle.py's.

Export reads the store a window of whole days at a time (about WINDOW_ROWS rows, sorted by
time) and writes one file per table and UTC day. The access layer hands it the store: the
running `otelcap serve`'s when one serves the data, else the store opened read-only. Its SQL
is in queries/_ops/export-*.sql (opsql.py), in both dialects. Everything in the store was
sanitized at ingest, so a bundle holds nothing the store does not; the manifest says which
rules were active.

Import checks every bundle first (manifest, schema version, each file's sha256), then merges
each table a chunk of files at a time with the store's `merge_parquet`: the store reads the
Parquet files itself (DuckDB scans Parquet maps ~5x faster than the same rows handed over as
Arrow) and keeps a record once however often it is imported. Only a store that can merge
(storage/base.py's Mergeable: DuckDB) takes an import. When `otelcap serve` runs, the chunks go
through its loopback endpoint and it merges them on a connection beside the writer, so ingest
goes on; nobody has to stop the collector to import a colleague's bundle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otelcap import __version__, access, opsql
from otelcap.config import time_window
from otelcap.errors import ConfigError
from otelcap.files import FILE_MODE, private_dir, private_file
from otelcap.model import schema
from otelcap.storage.base import Mergeable, Reader
from otelcap.storage.bundle import FORMAT, MANIFEST, BundleError, read_manifest

if TYPE_CHECKING:
    import pyarrow as pa

    from otelcap.config import Config

Progress = Callable[[int, int], None]  # (rows done, rows in all)

# Rows fetched per query: whole days, packed up to this many rows (a day with more is fetched
# on its own). Bounds memory on both sides of the loopback endpoint, which sends a result whole.
WINDOW_ROWS = 200_000
# DuckDB's own row-group size: it reads a file's row groups in parallel.
ROW_GROUP_ROWS = 122_880
# Rows per import transaction. 1.3M rows in chunks of 50k, 250k and 1M imported in 15.0, 13.3
# and 11.7 s into a fresh store, and again (all stored) in 4.5, 4.7 and 6.3 s; 250k bounds
# memory and what an interrupted import does over.
IMPORT_CHUNK_ROWS = 250_000
WRITERS = max(1, min(4, os.cpu_count() or 1))  # threads compressing and writing files
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # Hive's name for rows with no time
_DAY = dt.timedelta(days=1)
# The whole time range when no --since/--until is given: OTLP times count from 1970 (an
# unset one is 0), and DuckDB's TIMESTAMP_NS ends in 2262.
_FIRST, _LAST = dt.datetime(1970, 1, 1), dt.datetime(2262, 4, 11)


# --- export -------------------------------------------------------------------------------


def export_bundle(
    config: Config,
    directory: Path,
    since: str | dt.datetime | None = None,
    until: str | dt.datetime | None = None,
    tables: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the bundle into `directory` (new or empty); the manifest, also in manifest.json.
    `since` is inclusive, `until` exclusive: naive UTC, or `30d`/ISO text as on the CLI."""
    names = check_tables(tables)
    since, until = time_window(since, until)
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ConfigError(f"{directory} exists and is not empty: export into a new directory")
    started = time.perf_counter()
    with access.open(config) as store:
        plan = {t: _days(store, t, since, until) for t in names}
        total = sum(n for days in plan.values() for _d, n in days)
        private_dir(directory)
        files: list[dict[str, Any]] = []
        if progress:
            progress(0, total)
        # Files are compressed and written on threads (pyarrow lets go of the GIL) while the
        # next window is read: 11.8 s → 5.3 s for 1.3M rows on 2 cores. At most about two
        # windows of rows wait in memory.
        with ThreadPoolExecutor(WRITERS) as pool:
            pending: deque[tuple[Future[dict[str, Any]], int]] = deque()
            waiting = done = 0

            def finish_one() -> None:
                nonlocal waiting, done
                future, rows = pending.popleft()
                files.append(future.result())
                waiting, done = waiting - rows, done + rows
                if progress:
                    progress(done, total)

            for table, days in plan.items():
                for window in _windows(days):
                    data = _rows(store, table, window, since, until)
                    for label, part in _split_days(table, data):
                        future = pool.submit(_write_file, directory, table, label, part)
                        pending.append((future, part.num_rows))
                        waiting += part.num_rows
                    while waiting > 2 * WINDOW_ROWS:
                        finish_one()
            while pending:
                finish_one()
        backend = store.dialect  # the server's, when a server answered
    manifest = _manifest(config, backend, names, files, since, until, time.perf_counter() - started)
    _write_json(directory / MANIFEST, manifest)
    return manifest


def default_directory(now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.timezone.utc)
    return Path(f"otelcap-export-{now:%Y%m%d-%H%M%S}")


def check_tables(tables: list[str] | None) -> list[str]:
    """Table names, `otel_` optional (`logs`, `metrics_sum`); all of them when none given."""
    if not tables:
        return list(schema.TABLES)
    out = []
    for raw in (t.strip() for item in tables for t in item.split(",")):
        name = raw if raw in schema.TABLES else f"otel_{raw}"
        if name not in schema.TABLES:
            known = ", ".join(schema.TABLES)
            raise ConfigError(f"--tables: no table {raw!r}; the tables are: {known}")
        if name not in out:
            out.append(name)
    return out


def _days(
    store: Reader, table: str, since: dt.datetime | None, until: dt.datetime | None
) -> list[tuple[dt.date | None, int]]:
    """(UTC day, rows) of the table in the window, oldest first; (None, rows) last for rows
    without a time, which only an unfiltered export carries."""
    d = store.dialect
    bounds = {"since": since or _FIRST, "until": until or _LAST}
    rows = store.query(opsql.sql("export-days", d, table), bounds).to_pylist()
    out: list[tuple[dt.date | None, int]] = [(r["day"], int(r["n"])) for r in rows if r["n"]]
    if since is None and until is None:
        untimed = store.query(opsql.sql("export-untimed-count", d, table), None)
        n = int(untimed.column("n")[0].as_py() or 0)
        if n:
            out.append((None, n))
    return out


def _rows(
    store: Reader,
    table: str,
    window: tuple[dt.date, dt.date] | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> pa.Table:
    """A window's rows (None: those without a time), inside --since/--until."""
    if window is None:
        return store.query(opsql.sql("export-untimed-rows", store.dialect, table), None)
    lo = dt.datetime.combine(window[0], dt.time())
    hi = dt.datetime.combine(window[1], dt.time())
    bounds = {"lo": max(lo, since) if since else lo, "hi": min(hi, until) if until else hi}
    return store.query(opsql.sql("export-rows", store.dialect, table), bounds)


def _windows(days: list[tuple[dt.date | None, int]]) -> Iterator[tuple[dt.date, dt.date] | None]:
    """[first day, day after the last) spans of consecutive days with about WINDOW_ROWS rows;
    None for the rows without a time."""
    start: dt.date | None = None
    end: dt.date | None = None
    rows = 0
    for day, n in days:
        if day is None:
            yield None
            continue
        if start is not None and end is not None and (rows + n > WINDOW_ROWS):
            yield start, end
            start = None
        if start is None:
            start, rows = day, 0
        end, rows = day + _DAY, rows + n
    if start is not None and end is not None:
        yield start, end


def _split_days(table: str, data: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """A window's rows (sorted by time) as (UTC day, rows of that day), in export types."""
    import numpy as np
    import pyarrow as pa

    data = _to_export_types(table, data)
    if data.num_rows == 0:
        return
    ts = data.column(schema.TIME_COLUMN[table])
    if ts.null_count == data.num_rows:
        bounds, labels = [0, data.num_rows], [NULL_PARTITION]
    else:
        nanos = ts.cast(pa.int64()).to_numpy()
        day_index = np.floor_divide(nanos, 86_400 * 10**9)
        cuts = (np.flatnonzero(np.diff(day_index)) + 1).tolist()
        bounds = [0, *cuts, data.num_rows]
        labels = [
            (dt.date(1970, 1, 1) + dt.timedelta(days=int(day_index[b]))).isoformat()
            for b in bounds[:-1]
        ]
    for label, lo, hi in zip(labels, bounds, bounds[1:], strict=False):
        yield label, data.slice(lo, hi - lo)


def _write_file(directory: Path, table: str, label: str, part: pa.Table) -> dict[str, Any]:
    """Write one day's file; its manifest entry."""
    import pyarrow.parquet as pq

    rel = Path(table) / f"date={label}" / "part-0.parquet"
    path = directory / rel
    private_dir(path.parent)
    pq.write_table(
        part,
        path,
        compression="zstd",
        row_group_size=ROW_GROUP_ROWS,
        coerce_timestamps=None,  # keep nanoseconds
    )
    private_file(path)  # pyarrow creates it with the umask's mode
    first, last = _min_max(part.column(schema.TIME_COLUMN[table]))
    return {
        "path": rel.as_posix(),
        "table": table,
        "date": None if label == NULL_PARTITION else label,
        "rows": part.num_rows,
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
        "first": _iso(first),
        "last": _iso(last),
    }


def export_schema(table: str) -> pa.Schema:
    """The table's Arrow schema with every timestamp annotated as UTC (what the files hold)."""
    import pyarrow as pa

    def utc(typ: pa.DataType) -> pa.DataType:
        if pa.types.is_timestamp(typ):
            return pa.timestamp(typ.unit, tz="UTC")
        if pa.types.is_list(typ):
            return pa.list_(utc(typ.value_type))
        return typ

    fields = schema.TABLES[table]
    return pa.schema([pa.field(n, utc(fields.field(n).type)) for n in schema.exported(table)])


def _to_export_types(table: str, data: pa.Table) -> pa.Table:
    """The store's columns (naive UTC; ClickHouse may send dictionary strings) as the export
    schema's. Timestamps are relabelled, not shifted: naive values are UTC already."""
    import pyarrow as pa

    target = export_schema(table)
    cols = [data.column(f.name).cast(f.type) for f in target]
    return pa.Table.from_arrays(cols, schema=target)


def _min_max(col: pa.ChunkedArray) -> tuple[Any, Any]:
    import pyarrow.compute as pc

    mm = pc.min_max(col)
    return mm["min"].as_py(), mm["max"].as_py()


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return str(value.isoformat(timespec="microseconds")) + "Z"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(
    config: Config,
    backend: str,
    names: list[str],
    files: list[dict[str, Any]],
    since: dt.datetime | None,
    until: dt.datetime | None,
    seconds: float,
) -> dict[str, Any]:
    from otelcap.sanitize import describe_rules
    from otelcap.sanitize.rules import redact_text

    tables: dict[str, Any] = {}
    for name in names:
        mine = [f for f in files if f["table"] == name]
        firsts = [f["first"] for f in mine if f["first"]]
        lasts = [f["last"] for f in mine if f["last"]]
        tables[name] = {
            "rows": sum(f["rows"] for f in mine),
            "files": len(mine),
            "time_column": schema.TIME_COLUMN[name],
            "first": min(firsts, default=None),
            "last": max(lasts, default=None),
        }
    firsts = [t["first"] for t in tables.values() if t["first"]]
    lasts = [t["last"] for t in tables.values() if t["last"]]
    # The manifest is shared with the data, so its text passes the same pattern rules: the
    # rules' descriptions quote sample phone numbers, and their examples (left out: the
    # patterns say it) are sample keys and emails that must not travel either.
    rules = [
        {k: v if k == "pattern" else redact_text(v) for k, v in r.items() if k != "example"}
        for r in describe_rules(config)
    ]
    return {
        "format": FORMAT,
        "otelcap_version": __version__,
        "schema_version": schema.SCHEMA_VERSION,
        "created": _iso(dt.datetime.now(dt.timezone.utc)),
        "backend": backend,  # not the path: it may name the user
        "export_seconds": round(seconds, 3),
        "filter": {"since": _iso(since), "until": _iso(until)},
        "time_range": {"first": min(firsts, default=None), "last": max(lasts, default=None)},
        "rows": sum(t["rows"] for t in tables.values()),
        "tables": tables,
        "parquet": {
            "compression": "zstd",
            "row_group_rows": ROW_GROUP_ROWS,
            "partitioning": "hive, date=YYYY-MM-DD: the UTC day of each table's time_column",
            "timestamps": "UTC (isAdjustedToUTC), nanoseconds",
        },
        "sanitization": {
            "note": "applied when the rows were received; these are the rules of the exporting "
            "installation at export time",
            "settings": {
                "privacy_prompts": config.privacy_prompts,
                "privacy_content": config.privacy_content,
                "privacy_keep_identity": config.privacy_keep_identity,
            },
            "rules": rules,
        },
        "files": files,
    }


def summary(manifest: dict[str, Any], directory: Path) -> dict[str, Any]:
    """What `otelcap export --format json` prints: the manifest without its file list."""
    out = {k: v for k, v in manifest.items() if k not in ("files", "sanitization")}
    out["directory"] = str(directory)
    out["files"] = len(manifest["files"])
    out["bytes"] = sum(f["bytes"] for f in manifest["files"])
    out["sanitization_rules"] = len(manifest["sanitization"]["rules"])
    return out


def render_export(s: dict[str, Any], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(s, indent=2, ensure_ascii=False)
    span = s["time_range"]
    lines = [
        f"exported {s['rows']:,} rows in {s['files']:,} files ({s['bytes'] / 2**20:.1f} MiB) "
        f"to {s['directory']} in {s['export_seconds']:.1f} s",
        f"time range {span['first'] or '-'} .. {span['last'] or '-'}; schema version "
        f"{s['schema_version']}; {s['sanitization_rules']} sanitization rules in {MANIFEST}",
    ]
    for name, t in s["tables"].items():
        lines.append(f"  {name:<36}{t['rows']:>12,} rows  {t['files']:>5} files")
    return "\n".join(lines)


# --- import -------------------------------------------------------------------------------


def import_bundles(
    config: Config, directories: list[Path], progress: Progress | None = None
) -> dict[str, Any]:
    """Merge every bundle into the configured store; rows read and inserted per table."""
    started = time.perf_counter()
    bundles = [(Path(d), read_manifest(Path(d))) for d in directories]
    for directory, manifest in bundles:
        verify(directory, manifest)
    chunks = [
        (table, files, rows)
        for directory, manifest in bundles
        for table, files, rows in _chunks(directory, manifest)
    ]
    total = sum(rows for _t, _f, rows in chunks)
    per_table = {t: {"read": 0, "inserted": 0} for t in schema.TABLES}
    done = 0
    with access.open(config, write=True, create=True) as store:
        if not isinstance(store, Mergeable):
            raise ConfigError(
                f"{access.where(store, config)} cannot merge bundles: import needs a DuckDB "
                "store (query a bundle in place with `otelcap query NAME --from DIR`)"
            )
        if progress:
            progress(0, total)
        for table, files, rows in chunks:
            inserted, read = store.merge_parquet(table, files)
            per_table[table]["read"] += read
            per_table[table]["inserted"] += inserted
            done += rows
            if progress:
                progress(done, total)
    read_all = sum(t["read"] for t in per_table.values())
    inserted_all = sum(t["inserted"] for t in per_table.values())
    return {
        "bundles": [str(d) for d, _m in bundles],
        "read": read_all,
        "inserted": inserted_all,
        "already_stored": read_all - inserted_all,
        "seconds": round(time.perf_counter() - started, 3),
        "tables": {t: v for t, v in per_table.items() if v["read"]},
    }


def verify(directory: Path, manifest: dict[str, Any]) -> None:
    """Every file as exported: the same sha256 as the manifest says."""
    for entry in manifest.get("files", []):
        if _sha256(directory / entry["path"]) != entry.get("sha256"):
            raise BundleError(
                f"{directory / entry['path']} does not match its sha256 in {MANIFEST}: the "
                "bundle was changed or damaged in transit"
            )


def _chunks(directory: Path, manifest: dict[str, Any]) -> Iterator[tuple[str, list[Path], int]]:
    for table in schema.TABLES:
        files: list[Path] = []
        rows = 0
        for entry in (f for f in manifest.get("files", []) if f["table"] == table):
            if files and rows + entry["rows"] > IMPORT_CHUNK_ROWS:
                yield table, files, rows
                files, rows = [], 0
            files.append((directory / entry["path"]).resolve())
            rows += entry["rows"]
        if files:
            yield table, files, rows


def render_import(s: dict[str, Any], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(s, indent=2, ensure_ascii=False)
    lines = [
        f"imported {len(s['bundles'])} bundle(s) in {s['seconds']:.1f} s: {s['read']:,} rows "
        f"read, {s['inserted']:,} new, {s['already_stored']:,} already stored"
    ]
    for name, t in s["tables"].items():
        lines.append(f"  {name:<36}{t['inserted']:>12,} new of {t['read']:,}")
    return "\n".join(lines)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # a reader sees the whole manifest or none
