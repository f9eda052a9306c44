"""Stores: where sanitized batches are committed and queries run. A dict, not a plugin system.

Commands do not open stores themselves: the access layer (access.py) does, or hands them the
running server's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from otelcap.errors import NoDatabase

if TYPE_CHECKING:
    from otelcap.config import Config
    from otelcap.storage.base import Store


def open_store(config: Config, read_only: bool = False) -> Store:
    """Open the configured backend. Imports are lazy so one backend never loads the other."""
    if config.backend == "duckdb":
        from otelcap.storage.duckdb import DuckDBStore

        return DuckDBStore.from_config(config, read_only=read_only)
    if config.backend == "clickhouse":
        from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

        store = ClickHouseStore(
            ClickHouseTarget.from_config(config),
            ttl_days=config.clickhouse_ttl_days,
            read_only=read_only,
        )
        if read_only:
            return store
        # A writer never loses what it acknowledged: what ClickHouse cannot take is spooled.
        from otelcap.storage.spool import SpoolingStore

        return SpoolingStore(store, config.data_dir / "spool", config.spool_max_bytes)
    raise ValueError(f"unknown backend {config.backend!r}")


def open_local(config: Config, *, write: bool = False, create: bool = False) -> Store:
    """What a command opens when no server serves its data: the DuckDB file read-only (or
    read-write for maintenance; `create` makes a missing file, as `otelcap import` into a new
    store does), or a ClickHouse reader. A command never spools: ClickHouse has no maintenance
    verbs here (its TTL ages rows out), so a reader is all one can use."""
    if config.backend == "duckdb":
        db = config.database
        if not create and str(db) != ":memory:" and not Path(db).exists():
            raise NoDatabase(
                f"no database at {db} yet: start `otelcap serve` (it creates the file), or "
                "point --db (or OTELCAP_DB) at an existing one"
            )
        from otelcap.storage.duckdb import DuckDBStore

        store = DuckDBStore.from_config(config, read_only=not write)
        if write and create:
            try:
                store.create_schema()
            except BaseException:
                store.close()
                raise
        return store
    return open_store(config, read_only=True)


def location(config: Config, spool: bool = True) -> str:
    """Where the data goes, fit to print: a DuckDB path, or a ClickHouse URL without its
    password (and, with `spool`, the spool that holds what ClickHouse cannot take yet)."""
    if config.backend == "clickhouse":
        from otelcap.storage.clickhouse import ClickHouseTarget

        where = ClickHouseTarget.from_config(config).display
        return f"{where} + spool {config.data_dir / 'spool'}" if spool else where
    db = config.database
    return str(db if str(db) == ":memory:" else Path(db).absolute())


def database_file(config: Config) -> Path | None:
    """The file the data lives in (its size is worth showing), or None: ClickHouse keeps it
    on a server, an in-memory DuckDB nowhere."""
    if config.backend != "duckdb" or str(config.database) == ":memory:":
        return None
    return Path(config.database).absolute()


def key(config: Config) -> str:
    """What identifies the data a configuration points at, so a command finds the server
    that serves it: the DuckDB file's resolved path, or ClickHouse's host, port and database
    (not the user: a reader and the collector's writer reach the same tables)."""
    if config.backend == "clickhouse":
        from otelcap.storage.clickhouse import ClickHouseTarget

        t = ClickHouseTarget.from_config(config)
        if t.chdb is not None:
            return f"chdb:{t.chdb or 'memory'}/{t.database}"
        return f"clickhouse:{t.host}:{t.effective_port}/{t.database}"
    db = config.database
    return f"duckdb:{db if str(db) == ':memory:' else Path(db).resolve()}"
