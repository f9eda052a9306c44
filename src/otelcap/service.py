"""Wires one running otelcap: store ← pipeline ← sanitizer ← model ← receivers.

This is the only module that knows every layer; the CLI calls `Service(config).run()`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from otelcap import __version__, export, logfmt
from otelcap.config import Config, parse_duration
from otelcap.files import private_umask
from otelcap.ingest import Ingest
from otelcap.pipeline import Pipeline
from otelcap.queryapi import QueryApi
from otelcap.receiver import IngestResult
from otelcap.receiver.grpc import GrpcReceiver
from otelcap.receiver.http import HttpReceiver
from otelcap.retention import Retention, prune_request
from otelcap.sanitize import Sanitizer
from otelcap.selfmetrics import ingest_registry
from otelcap.storage import open_store
from otelcap.storage.base import Store

log = logging.getLogger(__name__)

# How long a request may wait for its commit before the client is told to retry.
COMMIT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Endpoints:
    host: str
    grpc_port: int
    http_port: int

    @property
    def grpc_url(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


class Service:
    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        # The database, its WAL and spill files are DuckDB's to create: with this umask they
        # are 0600 (0700 for directories) like everything else otelcap writes (files.py).
        private_umask()
        logfmt.add_secrets_of(config)  # configured passwords never reach a log line
        self.started = time.time()
        self.store = store if store is not None else open_store(config)
        self.store.create_schema()
        # The query endpoint runs other people's SQL on this store (DuckDB attaches a file once
        # per process, so in the writer's own DuckDB): from here on its engine opens no file
        # but the database's. Only some stores have, or need, this ability.
        seal = getattr(self.store, "seal", None)
        if callable(seal):
            seal()
        self.sanitizer = Sanitizer(config)
        self.metrics = ingest_registry()
        self.pipeline = Pipeline(
            self.store,
            flush_rows=config.flush_rows,
            flush_interval_ms=config.flush_interval_ms,
            queue_max_rows=config.queue_max_rows,
            metrics=self.metrics,
        )
        self._ingest = Ingest(self.sanitizer, self.pipeline, COMMIT_TIMEOUT_S)
        self.metrics.gauge(
            "otelcap_conversion_groups", "Conversion rounds (requests converted together).",
            lambda: self._ingest.groups,
        )  # fmt: skip
        self.metrics.gauge(
            "otelcap_conversion_grouped_requests", "Requests converted in those rounds.",
            lambda: self._ingest.grouped_requests,
        )  # fmt: skip
        self.metrics.gauge(
            "otelcap_queue_rows", "Rows waiting for the writer.", lambda: self.pipeline.queued_rows
        )
        # Only a store with a spool (ClickHouse, storage/spool.py) has spool_bytes; 0 otherwise.
        self.metrics.gauge(
            "otelcap_spool_bytes", "Bytes acknowledged, waiting in the spool for ClickHouse.",
            lambda: getattr(self.store, "spool_bytes", 0),
        )  # fmt: skip
        try:
            self.grpc = GrpcReceiver(config, self.ingest, self.metrics)
            self.http = HttpReceiver(
                config, self.ingest, self.metrics, lambda: self.pipeline.healthy
            )
        except Exception:
            self.store.close()
            raise
        self.endpoints = Endpoints(config.host, self.grpc.port, self.http.port)
        # DuckDB locks its file: `otelcap query` reaches the data through this loopback endpoint.
        self.query_api = (
            QueryApi(
                config.data_dir,
                config.database,
                self.store.query,
                status=self.status,
                # `otelcap import` and `otelcap prune` while serve runs: the owner does them.
                actions={
                    "merge": lambda p: export.merge_request(self.store, p),
                    "prune": lambda p: prune_request(self.store, p),
                },
            )
            if self.store.name == "duckdb"
            else None
        )
        # DuckDB ages rows out here; ClickHouse by its own TTL (clickhouse_ttl_days).
        keep = parse_duration(config.retention, "retention")
        ages_out = keep is not None and self.store.name == "duckdb"
        self.retention = Retention(self.store, keep) if keep and ages_out else None
        self._stopped = threading.Event()

    def ingest(self, signal_name: str, data: bytes) -> IngestResult:
        """The sink both receivers call: convert → sanitize → queue → wait for the commit."""
        return self._ingest(signal_name, data)

    def status(self) -> dict[str, Any]:
        """This server's own figures, for `otelcap status` (GET /v1/status on the query API)."""
        return {
            "pid": os.getpid(),
            "version": __version__,
            "started": self.started,
            "backend": self.store.name,
            "database": str(self.config.database.resolve()),
            "host": self.endpoints.host,
            "grpc_port": self.endpoints.grpc_port,
            "http_port": self.endpoints.http_port,
            "healthy": self.pipeline.healthy,
            "queue_rows": self.pipeline.queued_rows,
            "records_last_minute": self.metrics.recent("otelcap_records_accepted_total"),
            "spool_bytes": getattr(self.store, "spool_bytes", 0),
        }

    def start(self) -> None:
        self.pipeline.start()
        self.grpc.start()
        self.http.start()
        log.info("listening: gRPC %s, HTTP %s", self.endpoints.grpc_url, self.endpoints.http_url)
        if self.query_api:
            self.query_api.start()
        if self.retention:
            self.retention.start()

    def stop(self) -> None:
        """Stop accepting, answer what is in flight, flush, close the database."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.query_api:
            self.query_api.stop()
        if self.retention:
            self.retention.stop()
        self.http.stop_accepting()
        # grpc's stop waits for in-flight handlers, which wait on the writer: keep it running.
        stopper = threading.Thread(target=self.grpc.stop, daemon=True)
        stopper.start()
        self.http.wait_idle()
        stopper.join()
        self.pipeline.stop()
        self.store.close()
        stats = self.pipeline.stats
        log.info("stopped; %d flushes, %d failed", stats.flushes, stats.failed_flushes)

    def run(self, on_ready: Callable[[Endpoints], None] | None = None) -> None:
        """Start, call on_ready, block until SIGINT/SIGTERM, then stop cleanly."""
        wake = threading.Event()

        def _on_signal(signum: int, _frame: Any) -> None:
            log.info("received signal %d, shutting down", signum)
            wake.set()

        previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            if on_ready:
                on_ready(self.endpoints)
            while not wake.wait(0.5):
                pass
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
