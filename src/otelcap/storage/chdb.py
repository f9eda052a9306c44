"""ClickHouse's engine in-process (the `chdb` package): the exporter-compatible tables of
schema/clickhouse without a server. The golden tests run every query here and on DuckDB over
the same batches; the ClickHouse backend will share the DDL and the query forms.

chdb runs one embedded server per process, so each store takes a database of its own on a
connection of its own (`USE` is per connection) and drops it on close.

What differs from DuckDB, and is handled here so callers see the same Arrow:
- inserts go in as an Arrow IPC stream (`INSERT … FORMAT ArrowStream`), which is what
  clickhouse-connect's insert_arrow sends to a real server; there is no transaction across
  tables, so a failed flush can leave earlier tables written (the pipeline retries whole
  flushes; the ClickHouse backend deduplicates with insert tokens).
- ClickHouse's Arrow output sends DateTime as a UInt32 of seconds and DateTime64 with the
  server's time zone; results come back as naive UTC timestamps, like DuckDB's TIMESTAMP_NS.
- query parameters are `{name:Type}` placeholders bound server-side; values go as text.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import uuid
from typing import Any

import pyarrow as pa

from otelcap.errors import OtelcapError, StoreUnavailable
from otelcap.storage.base import ddl_statements

# Rows a stock Collector deployment keeps for 90 days; 0 disables the TTL (tests with fixed
# recordings would otherwise lose their rows once the recording date is 90 days old).
DEFAULT_TTL_DAYS = 90
_TTL_LINE = re.compile(r"^TTL .*$", re.MULTILINE)
_TTL_DAYS = re.compile(r"toIntervalDay\(\d+\)")


class ChdbStore:
    name = "chdb"
    dialect = "clickhouse"

    def __init__(self, database: str | None = None, ttl_days: int = DEFAULT_TTL_DAYS) -> None:
        import chdb  # lazy: a 200 MB engine that only tests and the ClickHouse path need

        self.database = database or f"otelcap_{uuid.uuid4().hex[:12]}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.database):
            raise ValueError(f"not a plain database name: {self.database!r}")
        self.ttl_days = ttl_days
        self._con = chdb.connect(":memory:")
        self._lock = threading.Lock()  # one chdb connection is not safe across threads
        self._closed = False
        self._run(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        self._run(f"USE {self.database}")
        # Dates and DateTime64 parameters are read in UTC whatever the host's zone is.
        self._run("SET session_timezone = 'UTC'")

    def _run(self, sql: str, fmt: str = "CSV", params: dict[str, str] | None = None) -> Any:
        from chdb import ChdbError

        with self._lock:
            try:
                return self._con.query(sql, fmt, params=params)
            except (ChdbError, RuntimeError) as exc:
                raise QueryFailed(str(exc).strip()) from None

    def create_schema(self) -> None:
        for _table, ddl in ddl_statements("clickhouse"):
            if self.ttl_days:
                ddl = _TTL_DAYS.sub(f"toIntervalDay({int(self.ttl_days)})", ddl)
            else:
                ddl = _TTL_LINE.sub("", ddl)
            self._run(ddl)

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        for table, parts in batches.items():
            if not parts or sum(p.num_rows for p in parts) == 0:
                continue
            schema = parts[0].schema
            sink = io.BytesIO()
            with pa.ipc.new_stream(sink, schema) as writer:
                for part in parts:
                    writer.write_batch(part)
            cols = ", ".join(f"`{name}`" for name in schema.names)
            with self._lock:
                try:
                    with self._con.send_insert(
                        f"INSERT INTO {table} ({cols})", "ArrowStream"
                    ) as ins:
                        ins.append(sink.getvalue())
                        ins.finish()
                except Exception as exc:  # chdb raises its own and RuntimeError
                    raise StoreUnavailable(f"ClickHouse (chdb) rejected {table}: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        if isinstance(params, list):
            raise TypeError("ClickHouse binds parameters by name ({name:Type}), not position")
        text = {k: _param_text(v) for k, v in (params or {}).items()}
        table: pa.Table = self._run(sql, "ArrowTable", params=text)
        if any(pa.types.is_uint32(f.type) for f in table.schema):
            table = self._datetimes(table, sql, text)
        return _naive_utc(table)

    def _datetimes(self, table: pa.Table, sql: str, params: dict[str, str]) -> pa.Table:
        """UInt32 columns that are DateTime in ClickHouse become timestamps again. DESCRIBE of
        the query only analyses it, so this costs a parse, not a second run."""
        described = self._run(f"DESCRIBE ({sql})", "ArrowTable", params=params)
        names, kinds = described.column("name").to_pylist(), described.column("type").to_pylist()
        types = dict(zip(names, kinds, strict=True))
        cols = []
        for field, col in zip(table.schema, table.columns, strict=True):
            typ = str(types.get(field.name, ""))
            if pa.types.is_uint32(field.type) and re.fullmatch(
                r"(Nullable\()?DateTime(\(.*\))?\)?", typ
            ):
                col = col.cast(pa.int64()).cast(pa.timestamp("s"))
            cols.append(col)
        return pa.Table.from_arrays(cols, names=table.schema.names)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._con.query(f"DROP DATABASE IF EXISTS {self.database}")
            finally:
                self._con.close()


class QueryFailed(OtelcapError):
    """ClickHouse refused a statement (bad SQL, unknown column, bad parameter value)."""


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        raise TypeError("ClickHouse query parameters cannot be NULL; use a sentinel value")
    return str(value)


def _naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps as naive UTC, as DuckDB returns them; NOT NULL flags dropped."""
    fields = []
    for field in table.schema:
        typ = field.type
        if pa.types.is_timestamp(typ) and typ.tz is not None:
            typ = pa.timestamp(typ.unit)
        fields.append(pa.field(field.name, typ, nullable=True))
    schema = pa.schema(fields)
    if schema == table.schema:
        return table
    cols = []
    for field, col in zip(schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type) and col.type != field.type:
            # Same instants; only the zone annotation goes (Arrow stores UTC underneath).
            col = col.cast(pa.int64()).cast(field.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)
