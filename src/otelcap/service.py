"""Wires one running otelcap: store ← pipeline ← sanitizer ← model ← receivers.

This is the only module that knows every layer; the CLI calls `Service(config).run()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from otelcap import __version__, access, logfmt, opsql, registry, report, statusline, storage
from otelcap.config import Config, budget_limits_now, parse_duration
from otelcap.config import zone as config_zone
from otelcap.dashboard import Dashboard
from otelcap.errors import ConfigError
from otelcap.files import private_umask
from otelcap.ingest import Ingest
from otelcap.pipeline import Pipeline
from otelcap.procs import listener
from otelcap.queryapi import QueryApi
from otelcap.receiver import IngestResult
from otelcap.receiver.grpc import GrpcReceiver
from otelcap.receiver.http import HttpReceiver
from otelcap.registry import ServerRecord
from otelcap.retention import Retention
from otelcap.sanitize import Sanitizer
from otelcap.sanitize.rules import redact_line
from otelcap.selfmetrics import ingest_registry
from otelcap.storage import open_store
from otelcap.storage.base import Prunable, Sealable, Spooled, Store

if TYPE_CHECKING:
    from otelcap.report.data import Run
    from otelcap.report.schedule import ReportSchedule

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


def use_arrow_pool_that_returns_memory() -> None:
    """Arrow's default pool, mimalloc, keeps a heap per thread that allocates, and every gRPC
    worker converts a round now and then: with 64 clients of 5-record requests the server
    sat at 535-554 MB (median RSS; 607-622 peak), against 284-291 MB with jemalloc (348-357)
    and 257 MB with the system allocator, which cost ~10% more CPU per request
    (bench/ingest.py, two runs each). ARROW_DEFAULT_MEMORY_POOL, when set, is left alone."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc (Windows wheels)
        pa.set_memory_pool(pa.system_memory_pool())


class Service:
    def __init__(
        self, config: Config, store: Store | None = None, *, config_file: Path | None = None
    ) -> None:
        """`config_file`: the file `config` was read from (the CLI's), read again for the
        budget limits the dashboard shows."""
        self.config = config
        # The database, its WAL and spill files are DuckDB's to create: with this umask they
        # are 0600 (0700 for directories) like everything else otelcap writes (files.py).
        private_umask()
        logfmt.add_secrets_of(config)  # configured passwords never reach a log line
        logfmt.add_redactor(redact_line)  # nor keys, emails or phones in request lines
        use_arrow_pool_that_returns_memory()
        self.started = time.time()
        self.store = store if store is not None else open_store(config)
        self.store.create_schema()
        # The query endpoint runs other people's SQL on this store (DuckDB attaches a file once
        # per process, so in the writer's own DuckDB): from here on its engine opens no file
        # but the database's. Only some stores have, or need, this ability.
        if isinstance(self.store, Sealable):
            self.store.seal()
        self.sanitizer = Sanitizer(config)
        self.metrics = ingest_registry()
        self.pipeline = Pipeline(
            self.store,
            flush_rows=config.flush_rows,
            flush_interval_ms=config.flush_interval_ms,
            queue_max_rows=config.queue_max_rows,
            metrics=self.metrics,
        )
        self._ingest = Ingest(
            self.sanitizer, self.pipeline, COMMIT_TIMEOUT_S,
            max_inflight_bytes=config.max_inflight_bytes,
        )  # fmt: skip
        self.metrics.gauge(
            "otelcap_inflight_bytes", "Request bytes being converted or waiting for a commit.",
            lambda: self._ingest.inflight_bytes,
        )  # fmt: skip
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
            self._spool_bytes,
        )  # fmt: skip
        try:
            try:
                self.grpc = GrpcReceiver(config, self._ingest, self.metrics)
            except ConfigError as exc:
                raise _with_holder(exc, config.grpc_port) from None
            try:
                self.http = HttpReceiver(
                    config, self._ingest, self.metrics, lambda: self.pipeline.healthy
                )
            except ConfigError as exc:
                raise _with_holder(exc, config.http_port) from None
        except Exception:
            if grpc_receiver := getattr(self, "grpc", None):
                grpc_receiver.stop(0)  # its port is bound and its event loop thread runs
            self.store.close()
            raise
        self.endpoints = Endpoints(config.host, self.grpc.port, self.http.port)
        # `otelcap ui`: the dashboard, on a loopback listener of its own (dashboard.py), which
        # starts when the first ticket is asked for over the control endpoint.
        run_pack = report.store_runner(self.store)  # what `otelcap query` runs, no round trip

        # the budget limits as the config file says when a page is made: `otelcap budget set`
        # while serve runs shows in the dashboard and the next scheduled report
        def limits() -> dict[str, float]:
            return budget_limits_now(config, config_file)

        self.dashboard = Dashboard(
            lambda: contextlib.nullcontext(run_pack),
            version=self._stored_rows,
            tz=config_zone(config),
            limits=limits,
        )
        # Other commands reach the store through this loopback endpoint: DuckDB locks its
        # file, and the request counters, queue and spool live only in this process.
        self.query_api = QueryApi(
            self.store.query,
            status=self.status,
            # `otelcap import` and `otelcap prune` while serve runs: the owner does them.
            actions={
                **access.serve_actions(self.store),
                "ui_ticket": lambda _payload: {"url": self.dashboard.ticket_url()},
            },
            # Claude Code's status line asks for its few numbers, not for SQL (statusline.py).
            statusline=lambda values: statusline.figures(self.store, values),
        )  # the store refuses what is not reading: sealed above (DuckDB), readonly=1 (ClickHouse)
        self.record: ServerRecord | None = None
        # A store that can delete old rows ages them out here; ClickHouse by its own TTL.
        keep = parse_duration(config.retention, "retention")
        self.retention = (
            Retention(self.store, keep) if keep and isinstance(self.store, Prunable) else None
        )
        # `--report-every`: the HTML report written on a schedule from this server's store.
        self.reports = _report_schedule(config, run_pack, limits)
        self._stopped = threading.Event()

    def ingest(self, signal_name: str, data: bytes) -> IngestResult:
        """The sink both receivers call: convert → sanitize → queue → wait for the commit."""
        return self._ingest(signal_name, data)

    def _stored_rows(self) -> str:
        """The stored row counts per table (`otelcap status`'s query), as one string: the
        dashboard refreshes when it changes."""
        rows = self.store.query(opsql.sql("table-rows", self.store.dialect)).to_pylist()
        # sorted: a UNION ALL's branches come back in any order (DuckDB runs them in parallel)
        return ",".join(sorted(f"{r['tbl']}={r['n']}" for r in rows))

    def _spool_bytes(self) -> int:
        return self.store.spool_bytes if isinstance(self.store, Spooled) else 0

    def status(self) -> dict[str, Any]:
        """This server's own figures, for `otelcap status` and `otelcap doctor` (GET /v1/status
        on the control endpoint). Nothing here asks the store: it answers in milliseconds even
        when ClickHouse does not, so commands can probe with it."""
        series = self.metrics.series
        requests = [
            {**dict(labels), "count": int(n)}
            for labels, n in sorted(series("otelcap_requests_total").items())
        ]
        return {
            "pid": os.getpid(),
            "version": __version__,
            "started": self.started,
            "backend": self.config.backend,
            "dialect": self.store.dialect,
            "database": storage.location(self.config),  # a ClickHouse URL without password
            "host": self.endpoints.host,
            "grpc_port": self.endpoints.grpc_port,
            "http_port": self.endpoints.http_port,
            "healthy": self.pipeline.healthy,
            "queue_rows": self.pipeline.queued_rows,
            "records_last_minute": self.metrics.recent("otelcap_records_accepted_total"),
            "records": {
                "accepted": int(sum(series("otelcap_records_accepted_total").values())),
                "rejected": int(sum(series("otelcap_records_rejected_total").values())),
            },
            "requests": requests,  # per signal, protocol and outcome, since start
            "spool_bytes": self._spool_bytes(),
            "abilities": list(access.abilities(self.store)),
        }

    def start(self) -> None:
        self.pipeline.start()
        self.grpc.start()
        self.http.start()
        log.info("listening: gRPC %s, HTTP %s", self.endpoints.grpc_url, self.endpoints.http_url)
        self.query_api.start()
        self.record = registry.write(
            self.config.data_dir,
            ServerRecord(
                pid=os.getpid(),
                host=self.query_api.host,
                port=self.query_api.port,
                token=self.query_api.token,
                backend=self.config.backend,
                dialect=self.store.dialect,
                target=storage.location(self.config, spool=False),
                key=storage.key(self.config),
                file=str(storage.database_file(self.config) or ""),
                ingest_host=self.endpoints.host,
                grpc_port=self.endpoints.grpc_port,
                http_port=self.endpoints.http_port,
                started=self.started,
                version=__version__,
                abilities=access.abilities(self.store),
            ),
        )
        if self.retention:
            self.retention.start()
        if self.reports:
            self.reports.start()

    def stop(self) -> None:
        """Stop accepting, answer what is in flight, flush, close the database."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.record is not None:
            registry.remove(self.record)  # its own record only: other servers keep theirs
        self.query_api.stop()
        self.dashboard.stop()
        if self.retention:
            self.retention.stop()
        if self.reports:
            self.reports.stop()
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


def _report_schedule(
    config: Config, run_pack: Run, limits: Callable[[], dict[str, float]]
) -> ReportSchedule | None:
    every = parse_duration(config.report_every, "report_every")
    if every is None:
        return None
    from otelcap.report.schedule import ReportSchedule

    return ReportSchedule(
        run_pack,
        config.reports_directory,
        every,
        config.report_keep,
        since=config.report_since,
        tz=config_zone(config),
        limits=limits,
    )


def _with_holder(exc: ConfigError, port: int) -> ConfigError:
    """A receiver's "cannot listen" error, with the process that holds the port when the
    system says (doctor finds it the same way)."""
    who = listener(port) if port else ""
    return ConfigError(f"{exc} The port is held by {who}.") if who else exc
