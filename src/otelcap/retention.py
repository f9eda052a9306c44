"""Retention for the DuckDB store: rows older than the configured period are deleted, by the
time of the row (Timestamp, or TimeUnix for metrics), at start and every hour while `otelcap
serve` runs, and by hand with `otelcap prune --older-than 30d`. ClickHouse drops old rows
itself (the tables' TTL), so nothing here runs for it.

Deletes go DELETE_BATCH_ROWS at a time, each batch its own short transaction on a connection
beside the writer's (DuckDBStore.delete_before): ingest goes on while a year is pruned. `otelcap
prune` runs the same loop on whatever store the access layer hands it; while `otelcap serve`
runs that is the server's, and each batch is one request to it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otelcap import access
from otelcap.config import parse_duration
from otelcap.errors import ConfigError
from otelcap.model import schema
from otelcap.storage.base import Prunable

if TYPE_CHECKING:
    from otelcap.config import Config

log = logging.getLogger(__name__)

EVERY_S = 3600.0  # how often serve applies retention
# Rows per DELETE transaction: ~6 ms each on 2 cores (bench/export.py prunes half of 1.3M).
DELETE_BATCH_ROWS = 50_000


def prune_store(
    store: Prunable, cutoff: dt.datetime, stopping: Callable[[], bool] = lambda: False
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

    def __init__(self, store: Prunable, keep: dt.timedelta, every_s: float = EVERY_S) -> None:
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
    """`otelcap prune`: through the running server when one serves the data, else directly."""
    keep = parse_duration(older_than, "--older-than")
    if keep is None:
        raise ConfigError("--older-than 0 would delete everything; give a period such as 30d")
    cutoff = cutoff_for(keep)
    with access.open(config, write=True) as store:
        if not isinstance(store, Prunable):
            raise ConfigError(
                f"{access.where(store, config)} cannot delete rows on request; ClickHouse drops "
                "old rows by its tables' TTL (clickhouse_ttl_days)"
            )
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
