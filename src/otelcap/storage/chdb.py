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
- queries run on a connection of their own whose session is read-only (chcommon's
  READ_SETTINGS): a session setting covers every statement chdb is sent at once, where a
  trailing SETTINGS clause would cover only the last (chdb runs `DROP …; SELECT 1`).
"""

from __future__ import annotations

import io
import re
import threading
import uuid
from typing import Any

import pyarrow as pa

from otelcap.errors import StoreUnavailable
from otelcap.storage.chcommon import (
    DEFAULT_TTL_DAYS,
    READ_SETTINGS,
    QueryFailed,
    ddl,
    escaped,
    has_uint32,
    naive_utc,
    param_text,
    refuse_outfile,
    restore_datetimes,
)

__all__ = ["DEFAULT_TTL_DAYS", "ChdbStore", "QueryFailed"]


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
        self._reader = chdb.connect(":memory:")  # the same embedded server, its own session
        # Dates and DateTime64 parameters are read in UTC whatever the host's zone is.
        session = [f"USE {self.database}", "SET session_timezone = 'UTC'"]
        for con in (self._con, self._reader):
            for statement in session:
                self._run(statement, con=con)
        for name, value in READ_SETTINGS.items():  # readonly last: it freezes the rest
            self._run(f"SET {name} = {value}", con=self._reader)

    def _run(
        self, sql: str, fmt: str = "CSV", params: dict[str, str] | None = None, con: Any = None
    ) -> Any:
        from chdb import ChdbError

        with self._lock:
            try:
                return (con or self._con).query(sql, fmt, params=params)
            except (ChdbError, RuntimeError) as exc:
                raise QueryFailed(str(exc).strip()) from None

    def create_schema(self) -> None:
        for _table, statement in ddl(self.ttl_days):
            self._run(statement)

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
        text = {k: param_text(v) for k, v in (params or {}).items()}
        reader = self._reader
        formatted = "SELECT formatQuerySingleLine({q:String})"
        refuse_outfile(
            sql, lambda q: str(self._run(formatted, "JSONCompact", {"q": escaped(q)}, reader))
        )
        table: pa.Table = self._run(sql, "ArrowTable", params=text, con=reader)
        if has_uint32(table):
            # DateTime arrives as UInt32. DESCRIBE of the query only analyses it, so this
            # costs a parse, not a second run.
            described = self._run(f"DESCRIBE ({sql})", "ArrowTable", params=text, con=reader)
            table = restore_datetimes(table, described)
        return naive_utc(table)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._con.query(f"DROP DATABASE IF EXISTS {self.database}")
            finally:
                self._reader.close()
                self._con.close()
