"""Retention for the DuckDB store: rows older than the configured period are deleted, by the
time of the row (Timestamp, or TimeUnix for metrics), at start and every hour while `otelcap
serve` runs, and by hand with `otelcap prune --older-than 30d`. ClickHouse drops old rows
itself (the tables' TTL), so nothing here runs for it.

Deletes go DELETE_BATCH_ROWS at a time, each batch its own short transaction on a connection
beside the writer's (DuckDBStore.delete_before): ingest goes on while a year is pruned.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otelcap.config import parse_duration
from otelcap.errors import ConfigError
from otelcap.model import schema
from otelcap.queryapi import ServerGone, find_server, remote_action

if TYPE_CHECKING:
    from otelcap.config import Config

log = logging.getLogger(__name__)

EVERY_S = 3600.0  # how often serve applies retention
# Rows per DELETE transaction: ~6 ms each on 2 cores (bench/export.py prunes half of 1.3M).
DELETE_BATCH_ROWS = 50_000


def prune_store(
    store: Any, cutoff: dt.datetime, stopping: Callable[[], bool] = lambda: False
) -> dict[str, int]:
    """Delete every row older than `cutoff` (naive UTC); rows deleted per table. Stops
    between batches once `stopping()` says so (serve shutting down)."""
    deleted: dict[str, int] = {}
    for table in schema.TABLES:
        total = 0
        while not stopping():
            n = store.delete_before(table, cutoff, DELETE_BATCH_ROWS)
            total += n
            if n < DELETE_BATCH_ROWS:
                break
            time.sleep(0)  # let other threads in between transactions
        if total:
            deleted[table] = total
    return deleted


def cutoff_for(older_than: dt.timedelta, now: dt.datetime | None = None) -> dt.datetime:
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return now - older_than


class Retention:
    """Applies retention at start and then every `every_s` seconds, on a thread of its own."""

    def __init__(self, store: Any, keep: dt.timedelta, every_s: float = EVERY_S) -> None:
        self.store = store
        self.keep = keep
        self.every_s = every_s
        self.runs = 0
        self.last: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="otelcap-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                cutoff = cutoff_for(self.keep)
                self.last = prune_store(self.store, cutoff, self._stop.is_set)
                if self.last:
                    log.info("retention: deleted rows before %s: %s", cutoff, self.last)
            except Exception as exc:  # a failed run is retried at the next one
                log.warning("retention run failed: %s", exc)
            self.runs += 1
            self._stop.wait(self.every_s)


def prune(config: Config, older_than: str) -> dict[str, Any]:
    """`otelcap prune`: through the running server when it holds the file, else directly."""
    keep = parse_duration(older_than, "--older-than")
    if keep is None:
        raise ConfigError("--older-than 0 would delete everything; give a period such as 30d")
    if config.backend != "duckdb":
        raise ConfigError(
            f"prune works on the DuckDB store; {config.backend} drops old rows by its own TTL "
            "(clickhouse_ttl_days)"
        )
    server = find_server(config.data_dir, config.database)
    if server is not None:
        try:
            return remote_action(server, "prune", {"older_than_s": keep.total_seconds()})
        except ServerGone:
            pass  # a crashed server's file: the database is free
    if not config.database.exists():
        raise ConfigError(f"no database at {config.database}: nothing to prune")
    from otelcap.storage.duckdb import DuckDBStore

    store = DuckDBStore.from_config(config)
    try:
        return prune_request(store, {"older_than_s": keep.total_seconds()})
    finally:
        store.close()


def prune_request(store: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Prune older than payload["older_than_s"] seconds; the server's side of `otelcap prune`."""
    seconds = float(payload["older_than_s"])
    if seconds <= 0:
        raise ConfigError("older_than_s must be positive")
    cutoff = cutoff_for(dt.timedelta(seconds=seconds))
    deleted = prune_store(store, cutoff)
    return {
        "cutoff": cutoff.isoformat(timespec="seconds") + "Z",
        "deleted": deleted,
        "total": sum(deleted.values()),
    }


def render(result: dict[str, Any], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(result, indent=2)
    lines = [f"deleted {result['total']:,} rows older than {result['cutoff']}"]
    lines += [f"  {table:<36}{n:>12,}" for table, n in result["deleted"].items()]
    return "\n".join(lines)
