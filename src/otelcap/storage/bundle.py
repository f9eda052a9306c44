"""Exported bundles on disk: the layout `otelcap export` writes, and a read-only store over it.

A bundle is a directory:

    manifest.json                                   written last: no manifest, no bundle
    otel_logs/date=2026-11-27/part-0.parquet        one dataset per table, hive-partitioned
    otel_metrics_sum/date=2026-11-27/part-0.parquet by the UTC day of the row's time column

Parquet files hold the columns of model/schema.py with timestamps annotated as UTC
(isAdjustedToUTC=true, nanoseconds), so any reader (DuckDB, pandas, ClickHouse, Spark) sees
instants, not wall-clock times; maps stay maps. Inside otelcap they become naive UTC
TIMESTAMP_NS again, exactly as the store holds them, without going through a time zone
setting: `make_timestamp_ns(epoch_ns(x))` (a cast would apply the session's TimeZone).

`BundleStore` answers the query pack from a bundle with no import: an in-memory DuckDB whose
tables are views over the Parquet files the manifest lists (`otelcap query NAME --from DIR`),
sealed like every store that runs someone's SQL (sqlguard.py): those files are the only ones
it may read.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pyarrow as pa

from otelcap.errors import OtelcapError
from otelcap.model import schema
from otelcap.storage import layout, sqlguard, upgrade
from otelcap.storage.base import ddl_statements

MANIFEST = "manifest.json"
FORMAT = "otelcap-bundle"
READABLE_SCHEMAS = (1,)  # schema versions this otelcap imports and queries


class BundleError(OtelcapError):
    """Not a bundle this otelcap can read: no manifest, a newer schema, a damaged file."""


def read_manifest(directory: Path) -> dict[str, Any]:
    """The bundle's manifest, checked: its format, its schema version, its files present."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BundleError(f"{directory} is not a directory")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BundleError(
            f"{directory} has no {MANIFEST}: not an otelcap bundle, or an export that did not "
            "finish (the manifest is written last)"
        ) from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path} is not an otelcap bundle manifest")
    version = manifest.get("schema_version")
    if version not in READABLE_SCHEMAS:
        from otelcap import __version__

        readable = ", ".join(str(v) for v in READABLE_SCHEMAS)
        raise BundleError(
            f"{directory} was exported with schema version {version} by otelcap "
            f"{manifest.get('otelcap_version', '?')}; this otelcap ({__version__}) reads schema "
            f"version {readable}. Upgrade otelcap on this machine to import or query it."
        )
    for entry in manifest.get("files", []):
        if entry.get("table") not in schema.TABLES:
            raise BundleError(f"{path}: unknown table {entry.get('table')!r}")
        rel = Path(str(entry.get("path", "")))
        if rel.is_absolute() or ".." in rel.parts or rel.parts[:1] != (entry["table"],):
            # A manifest names files inside its own bundle, never elsewhere on this machine.
            raise BundleError(f"{path}: {rel} is not a file of the bundle's {entry['table']}")
        if not (directory / rel).is_file():
            raise BundleError(f"{directory}: {entry['path']} is listed in {MANIFEST} but missing")
    return manifest


def files_of(directory: Path, manifest: dict[str, Any], table: str) -> list[Path]:
    """The table's Parquet files, in the manifest's (time) order."""
    return [Path(directory) / f["path"] for f in manifest.get("files", []) if f["table"] == table]


def parquet_select(table: str, source: str, present: Collection[str] | None = None) -> str:
    """SELECT of the table's columns, in schema order and store types, from `source`: the
    table's Parquet files as `parquet_source` reads them, or a registered Arrow dataset.
    Columns not `present` in the files (a bundle of an older otelcap) are computed from the
    row as an upgraded file has them (storage/upgrade.py), and so are the LOCAL ones, which
    no bundle carries (model/schema.py)."""
    cols = []
    local = schema.LOCAL.get(table, frozenset())
    for field in schema.TABLES[table]:
        name = quote_ident(field.name)
        if field.name in local or (present is not None and field.name not in present):
            types = upgrade.column_types()[table]
            cols.append(f"{upgrade.fill_sql(table, field.name, types[field.name])} AS {name}")
        elif pa.types.is_timestamp(field.type):
            cols.append(f"make_timestamp_ns(epoch_ns({name})) AS {name}")
        elif pa.types.is_list(field.type) and pa.types.is_timestamp(field.type.value_type):
            cols.append(
                f"list_transform({name}, lambda t: make_timestamp_ns(epoch_ns(t))) AS {name}"
            )
        else:
            cols.append(name)
    return f"SELECT {', '.join(cols)} FROM {source}"


def parquet_columns(files: list[Path]) -> set[str]:
    """The columns every one of the files has (their footers, not their rows)."""
    import pyarrow.parquet as pq

    names = [set(pq.read_schema(f).names) for f in files]
    return set.intersection(*names) if names else set()


def parquet_source(files: list[Path]) -> str:
    """DuckDB's reader over the files. Paths are quoted literals (DuckDB cannot bind a table
    function's file list)."""
    paths = ", ".join(quote_literal(str(Path(f).resolve())) for f in files)
    return f"read_parquet([{paths}], hive_partitioning = false)"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class BundleStore:
    """A read-only store over an exported bundle; the query pack runs on it as on DuckDB."""

    name = "bundle"
    dialect = "duckdb"  # the query pack's DuckDB SQL runs as written
    read_only = True

    def __init__(self, directory: Path) -> None:
        import duckdb

        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET enable_progress_bar = false")
        readable: list[str] = []
        for table, ddl in ddl_statements("duckdb"):
            files = files_of(self.directory, self.manifest, table)
            if files:
                source = parquet_source(files)
                select = parquet_select(table, source, parquet_columns(files))
                view = f"CREATE VIEW {quote_ident(table)} AS {select}"
                self._con.execute(view)
                readable += [str(Path(f).resolve()) for f in files]
            else:  # not exported, or no rows: an empty table answers like an empty store
                self._con.execute(ddl)
        # The name `otelcap sql` documents for whole maps; a bundle's maps are whole already.
        self._con.execute(layout.full_view_sql())
        sqlguard.seal(self._con, readable)

    def create_schema(self) -> None:
        """Nothing to create: the tables are the bundle's."""

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        raise BundleError("a bundle is read-only; `otelcap import` merges it into the store")

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        return sqlguard.run(self._con.cursor(), sql, params)

    def close(self) -> None:
        self._con.close()
