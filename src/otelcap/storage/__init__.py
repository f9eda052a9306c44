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

        return DuckDBStore(config.database, read_only=read_only)
    raise ValueError(f"unknown backend {config.backend!r}")
