"""DuckDB store: one embedded file, one writer connection, one transaction per flush.

Inserts go through `INSERT INTO t BY NAME SELECT * FROM <arrow table>`: DuckDB scans the
Arrow buffers directly (no per-row Python, unlike executemany or the Appender), and BY NAME
keeps the insert correct if columns are ever reordered. Log rows go in with the promoted
attributes left out of LogAttributes (storage/layout.py: the typed column is the one copy;
the `otel_logs_full` view gives the maps back whole). Each table's Arrow input is a view
registered once on the writer's connection (`_Incoming`), not registered and dropped again
per flush, which cost a tenth of a small flush.

Maintenance (`merge_parquet` for `otelcap import`, `delete_before` for retention) runs on a
cursor of its own, not the writer's connection: DuckDB's MVCC lets appends go on beside it
(appends never conflict), so neither blocks ingest. A lock of its own runs one maintenance
transaction at a time, so two imports cannot both decide that a record is missing.

Reads (`query`) are read-only by the engine (storage/sqlguard.py): a store opened read-only is
sealed at once, and `otelcap serve` seals its store before the query endpoint starts, since
the endpoint's SQL runs in the writer's DuckDB (a file can be attached once per process).
Sealed, DuckDB opens no file but the database, its WAL and its spill directory, so
`merge_parquet` then hands the bundle's Parquet files over through pyarrow instead of
DuckDB's own reader.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from otelcap.config import Config
from otelcap.errors import ConfigError, StoreUnavailable
from otelcap.files import private_dir, private_file
from otelcap.model import schema
from otelcap.procs import holder
from otelcap.storage import layout, sqlguard, upgrade
from otelcap.storage.base import ddl_statements
from otelcap.storage.bundle import (
    parquet_columns,
    parquet_select,
    parquet_source,
    quote_literal,
)

_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")  # DuckDB names the holder: "... (PID 8830)"

# The file is attached under this name rather than opened as the connection's own database,
# because only ATTACH takes ROW_GROUP_SIZE; every cursor must `USE` it (see `_cursor`).
ALIAS = "otelcap"
log = logging.getLogger(__name__)


class DuckDBStore:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        path: Path | str,
        read_only: bool = False,
        memory_limit: str = "",
        row_group_size: int = 0,
    ) -> None:
        """`memory_limit` and `row_group_size` (0: DuckDB's own) as in Config; see
        `from_config`."""
        self.path = str(path)
        if row_group_size and (row_group_size < 2048 or row_group_size % 2048):
            raise ConfigError(
                f"duckdb_row_group_size must be a multiple of 2048 (DuckDB's vector size), "
                f"got {row_group_size}"
            )
        created = self.path != ":memory:" and not Path(self.path).exists()
        if self.path != ":memory:":
            private_dir(Path(self.path).parent)
        options = (
            " (READ_ONLY)"
            if read_only
            else (f" (ROW_GROUP_SIZE {row_group_size})" if row_group_size else "")
        )
        self._con = duckdb.connect(":memory:")
        try:
            self._con.execute(f"ATTACH {quote_literal(self.path)} AS {ALIAS}{options}")
            self._con.execute(f"USE {ALIAS}")
            if created:  # DuckDB made it with the umask's mode; the WAL needs private_umask
                private_file(self.path)
        except duckdb.IOException as exc:
            self._con.close()
            if "lock" in str(exc).lower():
                raise ConfigError(_locked(self.path, str(exc))) from None
            raise ConfigError(f"cannot open the database {self.path}: {exc}") from None
        except duckdb.Error as exc:  # not a DuckDB file, a newer format, ...
            self._con.close()
            raise ConfigError(f"cannot open the database {self.path}: {exc}") from None
        self.read_only = read_only
        self.sealed = False
        self._lock = threading.Lock()  # guards the writer connection
        self._maintenance = threading.Lock()  # one import or prune transaction at a time
        self._closed = False
        self._incoming: dict[str, _Incoming] = {}  # per table: the view append() inserts from
        # A long statement would draw DuckDB's progress bar on the server's terminal.
        self._con.execute("SET enable_progress_bar = false")
        if self.path != ":memory:":
            # Beside the database (DuckDB's own name for a file's spill directory), not
            # `.tmp` in whatever directory the process runs in: the in-memory catalog that
            # the file is attached to has no directory of its own.
            self._con.execute("SET temp_directory = ?", [f"{self.path}.tmp"])
        if memory_limit:
            try:
                self._con.execute("SET memory_limit = ?", [memory_limit])
            except duckdb.Error as exc:
                self._con.close()
                raise ConfigError(
                    f"duckdb_memory_limit {memory_limit!r} is not a size DuckDB understands "
                    f"(e.g. 512MB, 2GB): {exc}"
                ) from None

        # Tables of an older otelcap lack columns the pack reads: added and filled now when
        # the file is opened to write, computed by views on each reading connection when not.
        # Series keys of another DuckDB version are computed again the same ways.
        self._lacking: dict[str, list[str]] = {}
        self._stale: dict[str, list[str]] = {}
        try:
            have = upgrade.stored_columns(self._con, ALIAS)
            self._lacking = upgrade.lacking(have)
            self._stale = upgrade.stale(self._con, ALIAS, have)
            if not read_only:
                for done in upgrade.upgrade(self._con, self._lacking, self._stale):
                    log.warning("%s: %s", self.path, done)
                self._lacking, self._stale = {}, {}
        except duckdb.Error as exc:
            self._con.close()
            raise ConfigError(f"cannot upgrade the tables of {self.path}: {exc}") from None
        if not read_only:
            # DuckDB checkpoints when the WAL reaches 16 MB, about every 16k Claude Code log
            # rows; each checkpoint recompresses the open row group and stalls the commit that
            # triggers it (0.2-1 s). At 64 MB appends ran ~35% faster (31k → 43k rows/s, 8k-row
            # flushes); the price is a longer WAL replay after a crash.
            self._con.execute("SET checkpoint_threshold = '64MB'")
        else:
            self.seal()  # nothing this store does needs more

    def seal(self) -> None:
        """From now on DuckDB reads and writes no file but the database's (see sqlguard):
        call it before anyone else's SQL can reach `query`. It cannot be undone."""
        with self._lock:
            if not self.sealed:
                sqlguard.seal(self._con)
                self.sealed = True

    @classmethod
    def from_config(cls, config: Config, read_only: bool = False) -> DuckDBStore:
        return cls(
            config.database,
            read_only=read_only,
            memory_limit=config.duckdb_memory_limit,
            row_group_size=config.duckdb_row_group_size,
        )

    def create_schema(self) -> None:
        with self._lock:
            for _table, ddl in ddl_statements("duckdb"):
                self._con.execute(ddl)
            # Replaced, not created if missing: a file keeps the view of the otelcap that
            # last served it, whose layout is the one its newest rows have.
            self._con.execute(layout.full_view_sql())

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        with self._lock:
            con = self._con
            tables = {
                t: pa.Table.from_batches(parts)
                for t, parts in batches.items()
                if any(p.num_rows for p in parts)  # an empty table costs like a full one
            }
            if layout.TABLE in tables:
                tables[layout.TABLE] = layout.single_copy(tables[layout.TABLE])
            try:
                for table, rows in tables.items():
                    source = self._incoming.get(table)
                    if source is None or not source.schema.equals(rows.schema):
                        # Outside the flush's transaction, so that a rollback keeps the view;
                        # DuckDB reads the schema as it registers.
                        source = _Incoming(rows.schema)
                        con.register(_incoming_view(table), source)
                        self._incoming[table] = source
                con.begin()
                for table, rows in tables.items():
                    source = self._incoming[table]
                    source.table = rows
                    try:
                        con.execute(_insert_sql(table, rows.schema))
                    finally:
                        source.table = None  # the flush's rows are not kept alive
                con.commit()
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
                raise StoreUnavailable(f"DuckDB rejected the flush: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        """One read-only statement (sqlguard.check), run in a read-only transaction."""
        return sqlguard.run(self._cursor(), sql, params)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the same database, for work beside the writer; it starts
        in the in-memory catalog, so point it at the file."""
        cur = self._con.cursor()
        cur.execute(f"USE {ALIAS}")
        cur.execute("SET enable_progress_bar = false")  # a setting of each connection
        if self._lacking or self._stale:  # only a read-only store: it cannot be altered
            upgrade.compat_views(cur, ALIAS, self._lacking, self._stale)
        return cur

    def merge_parquet(self, table: str, files: list[Path]) -> tuple[int, int]:
        """Insert the rows of exported Parquet files that the table does not hold yet, in one
        transaction; (rows inserted, rows read).

        A record is the whole row: its time, then a 64-bit hash of every column (names,
        attributes, maps, nested lists). Rows are numbered within each (time, hash), so a
        record the files hold n times and the table m times ends up max(n, m) times: importing
        a bundle again or one that overlaps adds nothing, a fresh store gets every row (even
        a duplicate the source held), and records that share session, sequence and event
        name but differ anywhere else are all kept. Two different records are taken for one
        only if they share the nanosecond time and the hash (about 2^-64 per such pair).
        Hashing the stored rows of the files' time range as the import goes is cheap (~0.7 s
        per 1M log rows, bench/export.py), so no identity column is stored.
        """
        if not files:
            return 0, 0
        cols = ", ".join(f'"{c}"' for c in schema.TABLES[table].names)
        ts = f'"{schema.TIME_COLUMN[table]}"'
        with self._maintenance:
            con = self._cursor()
            try:
                if self.sealed:
                    # DuckDB may not open the files; pyarrow reads them, and DuckDB still
                    # pushes the column list and filters down into its scanner. Slower than
                    # DuckDB's own reader (100k log rows into a fresh store: 6.2 s against
                    # 4.0 s; again, all stored: 5.7 s against 2.6 s), and only while `otelcap
                    # serve` runs: `otelcap import` alone opens the file unsealed.
                    import pyarrow.dataset as ds

                    files_ds = ds.dataset([str(f) for f in files], format="parquet")
                    con.register("incoming_files", files_ds)
                    source = "incoming_files"
                else:
                    source = parquet_source(files)
                incoming = f"({parquet_select(table, source, parquet_columns(files))})"
                stored = f'"{table}"'
                if table == layout.TABLE:
                    # A bundle's maps are whole; the table's rows are whole (written before
                    # the layout) or in single copy. Records compare, and are inserted, in
                    # the reduced form, which is one form for both (storage/layout.py).
                    reduce = f'* REPLACE ({layout.reduced_map_sql()} AS "{layout.MAP_COLUMN}")'
                    incoming = f"(SELECT {reduce} FROM {incoming})"
                    stored = f"(SELECT {reduce} FROM {stored})"
                con.begin()
                # The time column alone (Parquet is read by column): the rows, their range.
                read, timed, lo, hi = con.execute(
                    f"SELECT count(*), count({ts}), epoch_ns(min({ts})), epoch_ns(max({ts})) "
                    f"FROM {incoming}"
                ).fetchone() or (0, 0, None, None)
                # Only stored rows in that range can be the same records; constant bounds (not
                # a subquery) let DuckDB skip row groups outside it.
                ranges = [f"{ts} BETWEEN make_timestamp_ns({lo}) AND make_timestamp_ns({hi})"]
                in_range = " OR ".join(
                    (ranges if timed else []) + ([f"{ts} IS NULL"] if timed < read else [])
                )
                numbered = (
                    "SELECT *, row_number() OVER (PARTITION BY {ts}, h) AS k FROM "
                    "(SELECT {cols}, hash({cols}) AS h FROM {src} WHERE {where})"
                )
                # Parquet is read once more, straight into the insert: staging the rows in a
                # temporary table first cost more than this second read (1.4 s per 250k rows).
                inserted = con.execute(
                    f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM ('
                    + numbered.format(ts=ts, cols=cols, src=incoming, where="true")
                    + ") AS i ANTI JOIN ("
                    + numbered.format(ts=ts, cols=cols, src=stored, where=in_range or "false")
                    + f") AS e ON i.{ts} IS NOT DISTINCT FROM e.{ts} AND i.h = e.h AND i.k = e.k"
                ).fetchone()
                con.commit()
            except (duckdb.Error, pa.ArrowException) as exc:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
                raise StoreUnavailable(f"DuckDB could not merge into {table}: {exc}") from exc
            finally:
                con.close()
        return (int(inserted[0]) if inserted else 0), int(read)

    def delete_before(self, table: str, cutoff: datetime, limit: int) -> int:
        """Delete at most `limit` rows of `table` older than `cutoff` (naive UTC) in one short
        transaction, on a cursor beside the writer's connection so ingest goes on; returns how
        many were deleted. Appends add new rows and this removes old ones: no write conflict."""
        column = schema.TIME_COLUMN[table]
        with self._maintenance:  # an hourly run and a `prune` by hand never delete at once
            cur = self._cursor()
            try:
                row = cur.execute(
                    f'DELETE FROM "{table}" WHERE rowid IN '
                    f'(SELECT rowid FROM "{table}" WHERE "{column}" < ? LIMIT ?)',
                    [cutoff, limit],
                ).fetchone()
            finally:
                cur.close()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self.read_only:
                    self._con.execute(f"CHECKPOINT {ALIAS}")  # fold the WAL into the file
            finally:
                self._con.close()


def _locked(path: str, message: str) -> str:
    """DuckDB's lock error, with the process that holds the file: DuckDB lets one process
    open a file, even read-only."""
    m = _LOCK_HOLDER.search(message)
    who = f"another process, {holder(int(m.group(1)))}" if m else "another process"
    return (
        f"the database {path} is in use by {who}: DuckDB lets one process open a file. If it "
        "is an `otelcap serve` of another data directory, run this command with its "
        "OTELCAP_DATA_DIR (it then goes through that server); otherwise stop it, or use --db."
    )


def _insert_sql(table: str, incoming: pa.Schema) -> str:
    """The flush's INSERT: the batch's columns by name, and those the store derives from the
    sanitized maps (storage/upgrade.py), computed by DuckDB in the same statement."""
    derived = "".join(
        f', {sql} AS "{col}"'
        for col, sql in upgrade.derived_sql(table).items()
        if col not in incoming.names
    )
    return f'INSERT INTO "{table}" BY NAME SELECT *{derived} FROM {_incoming_view(table)}'


def _incoming_view(table: str) -> str:
    return f"otelcap_incoming_{table}"


class _Incoming:
    """The rows of one flush for one table, as an Arrow stream DuckDB reads through a view
    registered once: registering the table and dropping it again every flush cost ~3.4M of
    the ~32M instructions of appending 80 log rows (callgrind). Only the writer's
    connection has the view (a registered view belongs to its connection), and only while
    append() holds the lock does it hold any rows."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.table: pa.Table | None = None

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        if self.table is None:  # only append() reads the view, and only while it is set
            raise RuntimeError("otelcap's incoming rows were read outside an append")
        return self.table.__arrow_c_stream__(requested_schema)
