"""ClickHouse store: a server (or ClickHouse Cloud) over HTTP(S) with clickhouse-connect.

Writes: one `insert_arrow` per table per flush, with `async_insert=1, wait_for_async_insert=1`
(the server batches many collectors' small inserts into few parts, and the answer still comes
only once the rows are written) and an insert deduplication token per flush: sending the same
flush again with its token is a no-op, which is what lets the spool (spool.py) replay a flush
whose answer was lost without storing it twice. There is no transaction across tables; a
flush that fails half way is sent again whole, and the tables that had it skip it.

Reads: `query_arrow` with `{name:Type}` parameters bound by the server; DateTime columns,
which ClickHouse's Arrow sends as UInt32 seconds, become timestamps again (chcommon.py), so
results look like DuckDB's. Queries run with `readonly=1` when the user may write (chcommon's
READ_SETTINGS): the server then refuses writes, DDL, settings and the file/url table functions.

clickhouse-connect is imported when a store connects, never at module import: the DuckDB path
and `otelcap --help` do not pay its ~140 ms. Its in-process engine (`chdb://` URLs) runs this
same code without a server; the tests use it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from otelcap.errors import ConfigError, StoreUnavailable
from otelcap.model import schema
from otelcap.storage.chcommon import (
    DEFAULT_TTL_DAYS,
    READ_SETTINGS,
    QueryFailed,
    ddl,
    derived_column_ddl,
    has_uint32,
    naive_utc,
    param_text,
    refuse_outfile,
    restore_datetimes,
)

if TYPE_CHECKING:
    from otelcap.config import Config

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "otel"  # the OpenTelemetry Collector exporter's default
CONNECT_TIMEOUT_S = 5
# Under the pipeline's 30 s commit timeout: a flush that hangs is spooled (and acknowledged)
# before the clients waiting on it give up and send their requests again.
INSERT_TIMEOUT_S = 20
QUERY_TIMEOUT_S = 600
INSERT_SETTINGS = {
    "async_insert": 1,
    "wait_for_async_insert": 1,  # acknowledge only what is written
    "insert_deduplicate": 1,
    # Before ClickHouse 26.2 async inserts are deduplicated only with this (replicated tables);
    # 26.2+ deduplicates them by default (deduplicate_insert).
    "async_insert_deduplicate": 1,
}
# Server answers that mean the configuration is wrong, not that the server is away: at start
# they stop `serve` with a message instead of spooling forever.
CONFIG_CODES = {
    81: "unknown database",
    192: "unknown user",
    194: "a password is required",
    497: "access denied",
    516: "authentication failed (user or password)",
}
_UNKNOWN_DATABASE = 81  # the one configuration code that is not about the login
_CODE = re.compile(r"\bCode:\s*(\d+)")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()\]]+)")
# They log every failed request at WARNING; our own line says it once, with the URL and what
# happens next (the spool), so theirs only repeat it.
_NOISY_LOGGERS = ("clickhouse_connect", "urllib3.connectionpool")
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where the server is and who we are there. `display` is what may be printed."""

    host: str = "localhost"
    port: int = 0  # 0: 8123, or 8443 with TLS
    user: str = ""  # "": the server's default user
    password: str = field(default="", repr=False)
    database: str = DEFAULT_DATABASE
    secure: bool = False
    chdb: str | None = None  # chdb://: clickhouse-connect's in-process engine at this location

    @classmethod
    def from_config(cls, config: Config) -> ClickHouseTarget:
        """The URL's parts, overridden by each part the config sets on its own. Errors never
        repeat the URL: it may hold a password."""
        url = config.clickhouse_url.strip()
        parts: dict[str, Any] = {}
        chdb = None
        if url:
            try:
                u = urlsplit(url if "://" in url else f"http://{url}")
                port = u.port
            except ValueError:
                raise ConfigError("clickhouse_url is not a valid URL (check the port)") from None
            scheme = u.scheme.lower()
            if scheme == "chdb":
                location = u.netloc or u.path
                chdb = "" if location in ("", "memory", ":memory:") else u.path
            elif scheme in ("http", "https", "clickhouse"):
                parts = {
                    "host": u.hostname or "localhost",
                    "port": port or 0,
                    "user": unquote(u.username or ""),
                    "password": unquote(u.password or ""),
                    "database": u.path.strip("/"),
                    "secure": scheme == "https",
                }
            else:
                raise ConfigError(
                    f"clickhouse_url: unsupported scheme {scheme!r}; use http:// or https://"
                )
        for name in ("host", "port", "user", "password", "database"):
            value = getattr(config, f"clickhouse_{name}")
            if value:
                parts[name] = value
        parts["secure"] = bool(parts.get("secure")) or config.clickhouse_secure
        parts["database"] = parts.get("database") or DEFAULT_DATABASE
        if not _DATABASE_NAME.fullmatch(parts["database"]):
            raise ConfigError(f"clickhouse_database: not a database name: {parts['database']!r}")
        if parts.get("port", 0) > 65535:
            raise ConfigError(f"clickhouse_port must be 0-65535, got {parts['port']}")
        return cls(**parts, chdb=chdb)

    @property
    def effective_port(self) -> int:
        return self.port or (8443 if self.secure else 8123)

    @property
    def display(self) -> str:
        """The URL without the password, for banners and log lines."""
        if self.chdb is not None:
            return f"chdb://{self.chdb or 'memory'}/{self.database}"
        scheme = "https" if self.secure else "http"
        user = f"{self.user}@" if self.user else ""
        return f"{scheme}://{user}{self.host}:{self.effective_port}/{self.database}"

    def client_kwargs(self, database: str | None, timeout_s: int) -> dict[str, Any]:
        if self.chdb is not None:
            return {"interface": "chdb", "path": self.chdb or None, "database": database}
        return {
            "host": self.host,
            "port": self.effective_port,
            "username": self.user or None,
            "password": self.password,
            "database": database,
            "secure": self.secure,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "send_receive_timeout": timeout_s,
            # No session: the writer, the spool's replayer and readers share one client, and
            # a ClickHouse session takes one query at a time.
            "autogenerate_session_id": False,
            "client_name": "otelcap",
        }


class ClickHouseStore:
    name = "clickhouse"
    dialect = "clickhouse"
    # append(batches, token=…) sent twice with one token stores the rows once; spool.py relies
    # on it to replay flushes exactly once.
    deduplicates = True

    def __init__(
        self,
        target: ClickHouseTarget,
        ttl_days: int = DEFAULT_TTL_DAYS,
        read_only: bool = False,
    ) -> None:
        self.target = target
        self.ttl_days = ttl_days
        self.read_only = read_only
        self._client: Any = None
        self._columns: dict[str, set[str]] = {}  # table → its columns, read after create_schema
        self._warned: set[str] = set()
        # chdb's connection is not safe across threads; clickhouse-connect's HTTP client is.
        self._lock: Any = threading.Lock() if target.chdb is not None else contextlib.nullcontext()

    # --- connection ------------------------------------------------------------------------

    def _connect(self, database: str | None) -> Any:
        try:
            import clickhouse_connect
        except ImportError:
            raise ConfigError(
                "the clickhouse backend needs clickhouse-connect: pip install 'otelcap[clickhouse]'"
            ) from None
        timeout = QUERY_TIMEOUT_S if self.read_only else INSERT_TIMEOUT_S
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            return clickhouse_connect.get_client(**self.target.client_kwargs(database, timeout))
        except Exception as exc:
            raise self._error("connect", exc) from None

    def _reader(self) -> Any:
        if self._client is None:
            self._client = self._connect(self.target.database)
        return self._client

    def _error(self, doing: str, exc: BaseException, fatal_config: bool = False) -> Exception:
        """Our error for a clickhouse-connect one: ConfigError for a wrong user, password or
        database when fatal_config, else StoreUnavailable. The message names the server by its
        display URL only."""
        code = getattr(exc, "code", None) or error_code(str(exc))
        where = f"ClickHouse at {self.target.display}"
        if code in CONFIG_CODES and fatal_config:
            reason = f"{CONFIG_CODES[code]} ({_first_line(exc)})"
            return ConfigError(f"{where}: cannot {doing}: {reason}")
        return StoreUnavailable(f"{where}: cannot {doing}: {_first_line(exc)}")

    # --- Store -----------------------------------------------------------------------------

    def create_schema(self) -> None:
        """The database and every table, if missing. An existing table (a stock Collector's,
        say) is used as it is: appends send only the columns it has."""
        with self._lock:
            # A new client names no database: ours may not exist yet, and a client whose
            # database is missing fails every request.
            client = self._client or self._connect(None)
            db = self.target.database
            try:
                found = client.query(
                    "SELECT count() FROM system.databases WHERE name = {db:String}",
                    parameters={"db": db},
                ).result_rows[0][0]
                if not found:  # a user may write to a database it may not create
                    client.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
                client.database = db
                self._client = client
                for _table, statement in ddl(self.ttl_days):
                    client.command(statement)
                described = client.query(
                    "SELECT table, name FROM system.columns WHERE database = {db:String}",
                    parameters={"db": db},
                ).result_rows
                engines = client.query(
                    "SELECT name, engine, create_table_query FROM system.tables "
                    "WHERE database = {db:String}",
                    parameters={"db": db},
                ).result_rows
            except Exception as exc:
                raise self._error("create the tables", exc, fatal_config=True) from None
        columns: dict[str, set[str]] = {}
        for table, column in described:
            columns.setdefault(table, set()).add(column)
        self._add_derived(columns)
        self._columns = columns
        for table, engine, create in engines:
            if engine == "MergeTree" and "non_replicated_deduplication_window" not in create:
                log.warning(
                    "%s.%s has no non_replicated_deduplication_window: a flush replayed after "
                    "a lost answer may be stored twice",
                    db,
                    table,
                )

    def _add_derived(self, columns: dict[str, set[str]]) -> None:
        """Give a table of an older otelcap (or a stock Collector's) the columns ClickHouse
        derives by a DEFAULT (model/schema.py's DERIVED), which the query pack reads. Only
        the table's metadata changes: ClickHouse computes the DEFAULT for parts written
        before, as it reads them. A user without ALTER keeps working without them (warned)."""
        for table, derived in schema.DERIVED.items():
            have = columns.get(table)
            if have is None:
                continue
            for column, _type in derived:
                if column in have:
                    continue
                definition = derived_column_ddl(table, column)
                try:
                    self._reader().command(
                        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {definition}"
                    )
                except Exception as exc:
                    log.warning(
                        "could not add the column %s to %s (%s): the query pack's project "
                        "labels and filters read it",
                        column,
                        table,
                        _first_line(exc),
                    )
                    continue
                have.add(column)

    def append(self, batches: dict[str, list[pa.RecordBatch]], token: str | None = None) -> None:
        """One insert per table. With a token, sending the same flush again is a no-op."""
        # Always a token: without one a deduplicating table drops a flush whose rows equal an
        # earlier one's (a block hash match), and equal rows can be two real events.
        settings: dict[str, Any] = {
            **INSERT_SETTINGS,
            "insert_deduplication_token": token or uuid.uuid4().hex,
        }
        with self._lock:
            client = self._reader()
            for table, parts in batches.items():
                if not parts or not any(p.num_rows for p in parts):
                    continue
                data = self._fit(table, pa.Table.from_batches(parts))
                try:
                    client.insert_arrow(table, data, settings=settings)
                except Exception as exc:
                    raise self._error(f"insert into {table}", exc) from exc

    def _fit(self, table: str, data: pa.Table) -> pa.Table:
        """Only the columns the table has: a stock Collector's table lacks otelcap's."""
        have = self._columns.get(table)
        if not have or have.issuperset(data.column_names):
            return data
        missing = [c for c in data.column_names if c not in have]
        if table not in self._warned:
            self._warned.add(table)
            log.warning(
                "%s has no column %s: those values stay only in the attribute maps "
                "(the query pack needs them; see schema/clickhouse/%s.sql)",
                table,
                ", ".join(missing),
                table,
            )
        return data.select([c for c in data.column_names if c in have])

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        if isinstance(params, list):
            raise TypeError("ClickHouse binds parameters by name ({name:Type}), not position")
        with self._lock:
            client = self._reader()
            text = {k: param_text(v, client.server_tz) for k, v in (params or {}).items()}
            # Without a {name:Type} placeholder clickhouse-connect would %-format the SQL.
            bound = text if text and "{" in sql else None
            settings = _read_only_settings(client)
            if self.target.chdb is not None:
                # The in-process engine writes INTO OUTFILE even when read-only; a server
                # refuses it over HTTP.
                refuse_outfile(
                    sql,
                    lambda q: client.query(
                        "SELECT formatQuerySingleLine({q:String})", parameters={"q": q}
                    ).result_rows[0][0],
                )
            try:
                table = client.query_arrow(sql, parameters=bound, settings=settings)
                if has_uint32(table):
                    # DESCRIBE only analyses the query: a parse, not a second run.
                    described = client.query_arrow(
                        f"DESCRIBE ({sql})", parameters=bound, settings=settings
                    )
                    table = restore_datetimes(table, described)
            except Exception as exc:
                if _is_server_error(exc):
                    raise QueryFailed(_first_line(exc)) from None
                raise self._error("query", exc) from None
        return naive_utc(table)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    # --- what `otelcap doctor` asks (storage/base.py SelfChecking) --------------------------

    @property
    def display(self) -> str:
        return self.target.display

    @property
    def database(self) -> str:
        return self.target.database

    def test_write(self) -> str | None:
        """CREATE a Memory table, INSERT a random value, SELECT it back, DROP the table, on a
        connection of its own (reads here run readonly=2), so the telemetry tables never
        hold a test row. None when the row came back; what came back otherwise. Raises the
        driver's error when the user may not do it."""
        import clickhouse_connect

        table = f"otelcap_doctor_{uuid.uuid4().hex[:12]}"
        marker = uuid.uuid4().hex
        client = clickhouse_connect.get_client(**self.target.client_kwargs(self.database, 30))
        try:
            client.command(f"CREATE TABLE `{table}` (v String) ENGINE = Memory")
            try:
                client.insert(table, [[marker]], column_names=["v"])
                got = client.query(f"SELECT v FROM `{table}`").result_rows
            finally:
                client.command(f"DROP TABLE IF EXISTS `{table}`")
        finally:
            client.close()
        return None if got == [(marker,)] else repr(got)

    @staticmethod
    def classify(exc: BaseException) -> str:
        """Why a request failed: "login" (user or password), "database" (it does not exist)
        or "unreachable" (anything else: no answer, TLS, a proxy)."""
        code = getattr(exc, "code", None) or error_code(str(exc))
        if code == _UNKNOWN_DATABASE:
            return "database"
        if code in CONFIG_CODES:
            return "login"
        return "unreachable"


def _read_only_settings(client: Any) -> dict[str, Any] | None:
    """READ_SETTINGS when the user could write. A user that is read-only already may not
    change `readonly` at all (not even from 2 to 1): its profile decides, which is why
    docker's otelcap_reader has readonly=1 and join_use_nulls=1 in its profile."""
    current = getattr(client, "server_settings", {}).get("readonly")
    if current is not None and str(current.value) == "0":
        return dict(READ_SETTINGS)
    return None


def _is_server_error(exc: BaseException) -> bool:
    """The server answered with an error (bad SQL, unknown column), as opposed to no answer."""
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    return isinstance(exc, DatabaseError) and not isinstance(exc, OperationalError)


def error_code(message: str) -> int | None:
    m = _CODE.search(message)
    return int(m.group(1)) if m else None


def _first_line(exc: BaseException) -> str:
    """The reason, short: "Connection refused" rather than urllib3's retry report."""
    text = str(exc).strip() or type(exc).__name__
    m = _ERRNO.search(text)
    if m:
        return m.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:300]
