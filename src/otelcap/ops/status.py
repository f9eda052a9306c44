"""`otelcap status`: is a server running, where, how much is stored, how fast it arrives.

The access layer finds the server (access.find): its /v1/status carries its endpoints, records
accepted over the last minute, queue and spool. Rows per table come from the store it hands
over (queries/_ops/table-rows.sql): through that server while one serves the data, else from
the data itself.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from otelcap import access, opsql
from otelcap.config import Config
from otelcap.errors import NoDatabase, OtelcapError
from otelcap.model.schema import TABLES
from otelcap.ops import running


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
    lookup = access.find(cfg)  # SeveralServers (a usage error) when it cannot tell which
    server = lookup.server
    record = server.record if server else None
    st = server.status if server else {}
    notes = [
        f"removed {r.path}: the server it named (pid {r.pid}) stopped without removing it"
        for r in lookup.removed
    ]
    rows: dict[str, int] = {}
    try:
        with access.open(cfg, lookup=lookup) as store:
            got = store.query(opsql.sql("table-rows", store.dialect)).to_pylist()
        counts = {r["tbl"]: int(r["n"]) for r in got}
        rows = {t: counts[t] for t in TABLES if t in counts}  # UNION ALL has no order in ClickHouse
    except NoDatabase:
        notes.append(f"no database yet at {cfg.database}")
    except OtelcapError as exc:
        notes.append(f"rows unknown: {exc}")
    spool = st.get("spool_bytes")
    if spool is None:
        spool = _spool_bytes(cfg)
    started = st.get("started")
    host = running.client_host(record.ingest_host) if record else ""
    file = (Path(record.file) if record.file else None) if record else access.database_file(cfg)
    return Status(
        running=server is not None,
        healthy=st.get("healthy") if server else None,
        pid=record.pid if record else None,
        backend=record.backend if record else cfg.backend,
        database=record.target if record else access.location(cfg),
        grpc=f"{host}:{record.grpc_port}" if record and record.grpc_port else None,
        http=f"http://{host}:{record.http_port}" if record else None,
        started=(
            dt.datetime.fromtimestamp(float(started), dt.timezone.utc).isoformat(timespec="seconds")
            if started
            else None
        ),
        records_last_minute=st.get("records_last_minute"),
        queue_rows=None if st.get("queue_rows") is None else int(st["queue_rows"]),
        spool_bytes=int(spool),
        database_bytes=_database_bytes(file),
        rows=rows,
        note="; ".join(notes),
    )


def _spool_bytes(cfg: Config) -> int:
    """What waits in the ClickHouse spool (<data_dir>/spool) while no server sends it."""
    spool = Path(cfg.data_dir) / "spool"
    if not spool.is_dir():
        return 0
    return sum(p.stat().st_size for p in spool.iterdir() if p.is_file())


def _database_bytes(db: Path | None) -> int | None:
    """The DuckDB file plus its write-ahead log (rows since the last checkpoint live there)."""
    if db is None:
        return None
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
