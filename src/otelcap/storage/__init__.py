"""Stores: where sanitized batches are committed and queries run. A dict, not a plugin system."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def location(config: Config) -> str:
    """Where the data goes, fit to print: a DuckDB path, or a ClickHouse URL without its
    password (and the spool that holds what ClickHouse cannot take yet)."""
    if config.backend == "clickhouse":
        from otelcap.storage.clickhouse import ClickHouseTarget

        where = ClickHouseTarget.from_config(config).display
        return f"{where} + spool {config.data_dir / 'spool'}"
    return str(config.database)
