"""`otelcap status`: is a server running, where, how much is stored, how fast it arrives.

The running server answers for itself on its query endpoint (/v1/status: endpoints, records
accepted over the last minute, queue, spool); rows per table come from the database, through
that server while it holds the DuckDB file, else from the file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from otelcap.config import Config
from otelcap.errors import OtelcapError
from otelcap.ops import running
from otelcap.ops.running import Running, Stale


def _counts_sql() -> str:
    from otelcap.model.schema import TABLES

    return " UNION ALL ".join(f"SELECT '{t}' AS tbl, count(*) AS n FROM {t}" for t in TABLES)


@dataclass
class Status:
    running: bool
    healthy: bool | None
    pid: int | None
    backend: str
    database: str
    grpc: str | None  # host:port
    http: str | None  # base URL
    started: str | None  # ISO time, UTC
    records_last_minute: float | None
    queue_rows: int | None
    spool_bytes: int
    database_bytes: int | None
    rows: dict[str, int] = field(default_factory=dict)
    note: str = ""  # why rows or the rate are unknown

    @property
    def ok(self) -> bool:
        return self.running and self.healthy is not False

    def to_json(self) -> str:
        return json.dumps({"ok": self.ok, **asdict(self)}, indent=2)


def collect(cfg: Config) -> Status:
    found = running.find(cfg)
    live = found if isinstance(found, Running) else None
    st = live.status if live else {}
    notes = []
    if isinstance(found, Stale):
        notes.append(f"{found.path} is left from a server (pid {found.pid}) that stopped")
    rows: dict[str, int] = {}
    if cfg.backend != "duckdb" or live or Path(cfg.database).exists():
        try:
            rows = {r["tbl"]: int(r["n"]) for r in running.read(cfg, _counts_sql())}
        except OtelcapError as exc:
            notes.append(f"rows unknown: {exc}")
    else:
        notes.append(f"no database yet at {cfg.database}")
    queue, spool = st.get("queue_rows"), st.get("spool_bytes")
    if live and not st:  # a server without a query endpoint: its /metrics gauges
        gauges = running.metrics(live.host, live.http_port) or {}
        queue = gauges.get(("otelcap_queue_rows", ()))
        spool = gauges.get(("otelcap_spool_bytes", ()))
        notes.append("ingest rate unknown: only a server with a query endpoint (DuckDB) reports it")
    if spool is None:
        spool = _spool_bytes(cfg)
    started = st.get("started")
    return Status(
        running=live is not None,
        healthy=live.healthy if live else None,
        pid=live.pid if live else None,
        backend=str(st.get("backend", cfg.backend)),
        database=str(st.get("database") or _location(cfg)),
        grpc=f"{live.host}:{live.grpc_port}" if live and live.grpc_port else None,
        http=f"http://{live.host}:{live.http_port}" if live else None,
        started=(
            dt.datetime.fromtimestamp(float(started), dt.timezone.utc).isoformat(timespec="seconds")
            if started
            else None
        ),
        records_last_minute=st.get("records_last_minute"),
        queue_rows=None if queue is None else int(queue),
        spool_bytes=int(spool),
        database_bytes=_database_bytes(cfg),
        rows=rows,
        note="; ".join(notes),
    )


def _location(cfg: Config) -> str:
    from otelcap.storage import location

    return location(cfg)


def _spool_bytes(cfg: Config) -> int:
    """What waits in the ClickHouse spool (<data_dir>/spool) while no server sends it."""
    spool = Path(cfg.data_dir) / "spool"
    if cfg.backend == "duckdb" or not spool.is_dir():
        return 0
    return sum(p.stat().st_size for p in spool.iterdir() if p.is_file())


def _database_bytes(cfg: Config) -> int | None:
    """The DuckDB file plus its write-ahead log (rows since the last checkpoint live there)."""
    if cfg.backend != "duckdb" or str(cfg.database) == ":memory:":
        return None
    db = Path(cfg.database)
    sizes = [p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists()]
    return sum(sizes) if sizes else None


def render(s: Status, fmt: str = "text") -> str:
    if fmt == "json":
        return s.to_json()
    if s.running:
        health = {True: "committing", False: "NOT committing: see its log", None: "health unknown"}
        pid = f" (pid {s.pid})" if s.pid else ""
        lines = [f"otelcap is running{pid}, {health[s.healthy]}"]
        if s.started:
            lines.append(f"  started   {s.started}")
        if s.grpc:
            lines.append(f"  gRPC      {s.grpc}")
        lines.append(f"  HTTP      {s.http}/v1/{{logs,metrics,traces}}")
        lines.append(f"  health    {s.http}/healthz   metrics {s.http}/metrics")
    else:
        lines = ["otelcap is not running (start it with `otelcap serve`)"]
    size = f", {running.human_bytes(s.database_bytes)}" if s.database_bytes is not None else ""
    lines.append(f"  database  {s.database} ({s.backend}{size})")
    if s.records_last_minute is not None:
        rate = s.records_last_minute
        lines.append(f"  ingest    {rate:.0f} records in the last minute ({rate / 60:.1f}/s)")
    if s.queue_rows is not None:
        lines.append(f"  queue     {s.queue_rows} rows waiting for the database")
    lines.append(f"  spool     {running.human_bytes(s.spool_bytes)}")
    if s.rows:
        lines.append("Rows")
        width = max(len(t) for t in s.rows)
        digits = max(len(f"{n:,}") for n in s.rows.values())
        lines.extend(f"  {t:<{width}}  {n:>{digits},}" for t, n in s.rows.items())
    if s.note:
        lines.append(f"Note: {s.note}")
    return "\n".join(lines)
