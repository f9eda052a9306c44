"""`otelcap doctor`: pre-flight and connection checks, and what has arrived, in one report.

Every check returns `Check` records: ok (✓), warn (!: works, but something is missing), fail
(✗: otelcap cannot work like this) or info (·). Only a fail makes the exit code non-zero: a
content flag left off in Claude Code is the user's choice, so it is a warning with the fix.

Telemetry set-ups fail silently (nothing arrives and nobody says why), so the "what has
arrived" part reads the stored data itself: events and metrics per name with when each was
last seen, Claude Code versions, the protocol the server saw, metric temporality, and the
content that is missing because a Claude Code flag is off, judged on the latest events so a
flag turned on today counts.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import shutil
import tempfile
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from otelcap import config as config_mod
from otelcap import logfmt
from otelcap.config import Config
from otelcap.errors import ConfigError, OtelcapError
from otelcap.ops import running
from otelcap.ops.running import Running, Stale

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
SYMBOL = {OK: "✓", WARN: "!", FAIL: "✗", INFO: "·"}
SECTIONS = {"setup": "Set-up", "server": "Server and database", "data": "What has arrived"}
DISK_FAIL_BYTES = 100 * 1024**2  # below this a flush may fail half-way: refuse
DISK_WARN_BYTES = 1024**3
RECENT_PROMPTS = 20  # content flags are judged on the latest events of each kind
RECENT_TOOL_EVENTS = 50
REDACTED = "<REDACTED>"  # what Claude Code sends in place of a prompt when the flag is off
WIDTH = 100  # the text report wraps here
_SEP = " · "
_GLUE = "\0"  # joins a span's words while wrapping; no path or command line holds a NUL
_COMMAND = re.compile(r"`[^`]*`")
_PROCESS = re.compile(r"\bpid \d+ \(")
_SERVE = re.compile(r"\botelcap(?:\.cli)? serve\b")  # a holder's command line
_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}  # OTLP's enum


@dataclass
class Check:
    section: str  # setup | server | data
    name: str  # stable id, for --format json readers
    status: str  # ok | warn | fail | info
    message: str
    fix: str = ""  # what to do, when there is something to do
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    backend: str
    database: str
    data_dir: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def to_json(self) -> str:
        body = {"ok": self.ok, **{k: v for k, v in asdict(self).items() if k != "checks"}}
        body["checks"] = [asdict(c) for c in self.checks]
        return json.dumps(body, indent=2, default=str, ensure_ascii=False)


def _check(
    section: str, name: str, status: str, message: str, fix: str = "", /, **data: Any
) -> Check:
    return Check(section, name, status, message, fix, data)


def diagnose(overrides: dict[str, Any], now: dt.datetime | None = None) -> Report:
    """Load the configuration (flags in `overrides`) and run every check."""
    cfg, checks = _load(overrides)
    logfmt.add_secrets_of(cfg)  # error texts below are masked like log lines
    backend_missing = bool(checks)  # the backend asked for is not in this build
    checks += check_data_dir(cfg)
    found = running.find(cfg)
    live = found if isinstance(found, Running) else None
    checks += check_ports(cfg, live)
    checks.append(check_server(found))
    if backend_missing:
        store_checks: list[Check] = []
        readable = False
    elif cfg.backend == "clickhouse":
        store_checks = check_clickhouse(cfg)
        # Readable unless the connection or the tables failed (a failed test write is not).
        readable = all(c.status != FAIL for c in store_checks if c.name != "clickhouse_write")
    else:
        store_checks = [check_database(cfg, live)]
        readable = store_checks[0].status == OK  # "no database yet" has nothing to read
    checks += store_checks
    if readable:
        try:
            checks += check_arrived(cfg, live, now or dt.datetime.now(dt.timezone.utc))
        except Exception as exc:  # the store's or the engine's error: report it, do not crash
            checks.append(
                _check(
                    "data",
                    "arrived",
                    FAIL,
                    f"could not read what has arrived: {_first_line(exc)}",
                    "see the database check above; `otelcap sql` shows the full error",
                )
            )
    return Report(cfg.backend, _location(cfg), str(cfg.data_dir), checks)


def _location(cfg: Config) -> str:
    from otelcap.storage import location

    try:
        return location(cfg)
    except ConfigError:
        return cfg.backend


def _load(overrides: dict[str, Any]) -> tuple[Config, list[Check]]:
    """The configuration; a backend this build lacks is a failed check, not a crash, so the
    rest of the report still runs."""
    try:
        return config_mod.load(overrides), []
    except ConfigError as exc:
        if overrides.get("backend") != "clickhouse" or _has_clickhouse():
            raise
        cfg = config_mod.load({**overrides, "backend": None})
        return cfg, [_not_in_build(str(exc))]


def _has_clickhouse() -> bool:
    return importlib.util.find_spec("otelcap.storage.clickhouse") is not None


def _not_in_build(why: str) -> Check:
    return _check(
        "server",
        "clickhouse",
        FAIL,
        f"ClickHouse backend not available in this build ({why})",
        "install otelcap with its ClickHouse extra (pip install 'otelcap[clickhouse]'), or use "
        "the default DuckDB backend (drop --backend)",
    )


# --- set-up: data directory, disk, ports ------------------------------------------------------


def check_data_dir(cfg: Config) -> list[Check]:
    """The data directory (and the database's own directory, when elsewhere) can be written,
    and there is room for the database to grow."""
    checks = []
    dirs = [("data_dir", "data directory", Path(cfg.data_dir), "OTELCAP_DATA_DIR")]
    db_dir = Path(cfg.database).parent
    if cfg.backend == "duckdb" and str(cfg.database) != ":memory:" and db_dir != cfg.data_dir:
        dirs.append(("db_dir", "database directory", db_dir, "--db"))
    for name, label, path, elsewhere in dirs:
        ok, why, existing = _writable(path)
        if not ok:
            checks.append(
                _check(
                    "setup",
                    name,
                    FAIL,
                    f"{label} {path} is not writable: {why}",
                    f"fix its permissions, or choose another ({elsewhere})",
                    path=str(path),
                )
            )
            continue
        free = shutil.disk_usage(existing).free
        where = f"{label} {path} is writable"
        if existing != path:
            where = f"{label} {path} will be created ({existing} is writable)"
        status = FAIL if free < DISK_FAIL_BYTES else WARN if free < DISK_WARN_BYTES else OK
        fix = "" if status == OK else f"free some disk space, or move the data ({elsewhere})"
        message = f"{where}; {running.human_bytes(free)} free"
        checks.append(_check("setup", name, status, message, fix, path=str(path), free_bytes=free))
    return checks


def _writable(path: Path) -> tuple[bool, str, Path]:
    """(writable, why not, the directory tested): the nearest existing one, under which
    `serve` creates the rest."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return False, f"{existing} is not a directory", existing
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".otelcap-doctor-"):
            pass
    except OSError as exc:
        return False, exc.strerror or str(exc), existing
    return True, "", existing


def check_server(found: Running | Stale | None) -> Check:
    if isinstance(found, Stale):
        return _check(
            "server",
            "server",
            WARN,
            f"{found.path} names a server (pid {found.pid}) that no longer answers: "
            "it was stopped without cleaning up",
            "start `otelcap serve`; it replaces the file",
        )
    if found is None:
        return _check(
            "server",
            "server",
            INFO,
            "otelcap is not running for this database",
            "start it with `otelcap serve`",
        )
    pid = f" (pid {found.pid})" if found.pid else ""
    where = f"HTTP http://{found.host}:{found.http_port}"
    if found.grpc_port:
        where = f"gRPC {found.host}:{found.grpc_port}, {where}"
    data: dict[str, Any] = {
        "pid": found.pid,
        "host": found.host,
        "grpc_port": found.grpc_port,
        "http_port": found.http_port,
        "healthy": found.healthy,
    }
    if found.healthy is False:
        return _check(
            "server",
            "server",
            FAIL,
            f"otelcap is running{pid} but cannot store: its last commit failed ({where})",
            "read its log (the line `the store refused …` says why); check disk space "
            "and the database",
            **data,
        )
    return _check("server", "server", OK, f"otelcap is running{pid}: {where}", **data)


def check_ports(cfg: Config, live: Running | None) -> list[Check]:
    """Each port is free for `otelcap serve`, or held by the otelcap serving this database."""
    checks = []
    host = cfg.host
    for name, label, port, flag in (
        ("grpc_port", "gRPC", cfg.grpc_port, "--grpc-port"),
        ("http_port", "HTTP", cfg.http_port, "--http-port"),
    ):
        addr = f"{host}:{port}"
        data: dict[str, Any] = {"host": host, "port": port}
        if port == 0:
            message = f"{label} port 0: picked at start; Claude Code needs a fixed port"
            checks.append(_check("setup", name, INFO, message, **data))
            continue
        pid = f" (pid {live.pid})" if live and live.pid else ""
        if live and port in (live.grpc_port, live.http_port):
            message = f"{label} port {addr} is held by the running otelcap{pid}"
            checks.append(_check("setup", name, OK, message, **data))
            continue
        state = running.probe_port(host, port)
        if state.free:
            checks.append(_check("setup", name, OK, f"{label} port {addr} is free", **data))
            continue
        data["holder"] = state.holder
        other = f"choose another port: `otelcap serve {flag} N` and `otelcap setup claude {flag} N`"
        if not state.in_use:
            checks.append(
                _check(
                    "setup",
                    name,
                    FAIL,
                    f"cannot listen on {label} {addr}: {state.error}",
                    f"use a local address, or {other}",
                    **data,
                )
            )
        elif live and live.grpc_port is None and name == "grpc_port":
            # A server without a status endpoint: its gRPC port is unknown, very likely this.
            message = f"{label} port {addr} is in use, most likely by the running otelcap{pid}"
            checks.append(_check("setup", name, OK, message, **data))
        elif running.is_otelcap(running.client_host(host), port) or _SERVE.search(state.holder):
            checks.append(
                _check(
                    "setup",
                    name,
                    FAIL,
                    f"{label} port {addr} is held by another otelcap (one that does "
                    f"not serve {cfg.database})",
                    "stop it, or point this command at its data directory (OTELCAP_DATA_DIR); "
                    f"or {other}",
                    **data,
                )
            )
        else:
            holder = state.holder or "a process this user cannot see"
            checks.append(
                _check(
                    "setup",
                    name,
                    FAIL,
                    f"{label} port {addr} is in use by another program: {holder}",
                    f"stop that program, or {other}",
                    **data,
                )
            )
    return checks


# --- the store --------------------------------------------------------------------------------


def _expected_columns() -> dict[str, set[str]]:
    from otelcap.model.schema import TABLES

    return {table: set(schema.names) for table, schema in TABLES.items()}


def check_database(cfg: Config, live: Running | None) -> Check:
    """The DuckDB file opens (through the running server when it holds it) and has every
    table and column otelcap writes."""
    via = (
        f" (read through the running otelcap{f', pid {live.pid}' if live.pid else ''})"
        if (live and live.server)
        else ""
    )
    db = cfg.database
    if not via and str(db) != ":memory:" and not Path(db).exists():
        return _check(
            "server",
            "database",
            WARN,
            f"no database yet at {db}",
            "`otelcap serve` creates it",
            path=str(db),
        )
    expected = _expected_columns()
    names = ", ".join(f"'{t}'" for t in expected)
    try:
        rows = running.read(
            cfg,
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_name IN ({names})",
        )
    except OtelcapError as exc:
        return _check(
            "server",
            "database",
            FAIL,
            f"cannot open {db}: {exc}",
            "if another program holds the file, stop it; if the file is damaged, move "
            "it away and let `otelcap serve` create a new one",
            path=str(db),
        )
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r["table_name"], set()).add(r["column_name"])
    missing_tables = sorted(t for t in expected if t not in found)
    missing_cols = sorted(
        f"{t}.{c}" for t, cols in expected.items() if t in found for c in cols - found[t]
    )
    data: dict[str, Any] = {
        "path": str(db),
        "missing_tables": missing_tables,
        "missing_columns": missing_cols,
    }
    if missing_tables or missing_cols:
        what = ", ".join(missing_tables + missing_cols[:5])
        if len(missing_cols) > 5:
            what += f" and {len(missing_cols) - 5} more columns"
        return _check(
            "server",
            "database",
            FAIL,
            f"{db} lacks {what}{via}",
            "an older or foreign file: `otelcap serve` creates missing tables; for "
            "missing columns start a new file (--db)",
            **data,
        )
    message = f"database {db} opens and has all {len(expected)} tables{via}"
    return _check("server", "database", OK, message, **data)


def check_clickhouse(cfg: Config) -> list[Check]:
    """Reachable and authenticated, database and tables present, and a test row round-trips
    (through a scratch table, so the telemetry tables never hold a doctor's row)."""
    from otelcap.storage import open_store
    from otelcap.storage.clickhouse import ClickHouseTarget

    try:
        target = ClickHouseTarget.from_config(cfg)
    except ConfigError as exc:
        return [_check("server", "clickhouse", FAIL, f"ClickHouse configuration: {exc}")]
    where = f"ClickHouse at {target.display}"
    store = open_store(cfg, read_only=True)  # read-only: the store itself, no spool
    try:
        version = store.query("SELECT version() AS v").column(0)[0].as_py()
        found: dict[str, set[str]] = {}
        for r in store.query(_CH_COLUMNS_SQL).to_pylist():
            found.setdefault(r["table"], set()).add(r["name"])
    except ConfigError as exc:  # the client library is missing
        return [_not_in_build(str(exc))]
    except Exception as exc:  # ours (StoreUnavailable, QueryFailed) and the driver's
        return [_clickhouse_failure(where, target.database, exc)]
    finally:
        store.close()
    checks = [_check("server", "clickhouse", OK, f"{where} answers (ClickHouse {version})")]
    expected = _expected_columns()
    missing = sorted(set(expected) - set(found))
    missing_cols = sorted(
        f"{t}.{c}" for t, cols in expected.items() if t in found for c in cols - found[t]
    )
    if missing:
        checks.append(
            _check(
                "server",
                "clickhouse_tables",
                FAIL,
                f"database {target.database} lacks {', '.join(missing)}",
                "start `otelcap serve --backend clickhouse` once (it creates them; "
                "the user needs CREATE TABLE), or apply schema/clickhouse/*.sql",
                missing_tables=missing,
            )
        )
    elif missing_cols:
        # A stock Collector's tables: ingest works (otelcap sends the columns a table has),
        # but the query pack and this report read otelcap's promoted columns.
        shown = ", ".join(missing_cols[:5]) + (
            f" and {len(missing_cols) - 5} more" if len(missing_cols) > 5 else ""
        )
        checks.append(
            _check(
                "server",
                "clickhouse_tables",
                WARN,
                f"database {target.database} has every table but lacks {shown}",
                "add them with the ALTER TABLE … ADD COLUMN … DEFAULT forms of "
                "schema/clickhouse/*.sql; until then those values stay only in the "
                "attribute maps",
                missing_columns=missing_cols,
            )
        )
    else:
        message = f"database {target.database} has every table"
        checks.append(_check("server", "clickhouse_tables", OK, message))
    checks.append(_clickhouse_round_trip(target))
    return checks


_CH_COLUMNS_SQL = "SELECT table, name FROM system.columns WHERE database = currentDatabase()"
_CH_UNKNOWN_DATABASE = 81  # the one configuration code that is not about the login


def _first_line(exc: BaseException) -> str:
    """A driver's message, shortened, with configured secrets masked (it may echo them)."""
    return logfmt.mask((str(exc).strip() or type(exc).__name__).splitlines()[0][:300])


def _clickhouse_failure(where: str, database: str, exc: BaseException) -> Check:
    from otelcap.storage.clickhouse import CONFIG_CODES, error_code

    code = error_code(str(exc))
    if code in CONFIG_CODES.keys() - {_CH_UNKNOWN_DATABASE}:
        return _check(
            "server",
            "clickhouse",
            FAIL,
            f"{where} refused the login: {_first_line(exc)}",
            "check clickhouse_user and OTELCAP_CLICKHOUSE_PASSWORD",
        )
    if code == _CH_UNKNOWN_DATABASE:
        return _check(
            "server",
            "clickhouse",
            FAIL,
            f"{where}: database {database} does not exist",
            "start `otelcap serve --backend clickhouse` once (it creates the database "
            "when the user may), or create it",
        )
    return _check(
        "server",
        "clickhouse",
        FAIL,
        f"{where} is unreachable: {_first_line(exc).removeprefix(where + ': ')}",
        "is it running (`docker compose --profile clickhouse up -d`)? check the host, "
        "the port and TLS (https:// URL or clickhouse_secure)",
    )


def _clickhouse_round_trip(target: Any) -> Check:
    """CREATE a Memory table, INSERT a random value, SELECT it back, DROP the table."""
    import uuid

    import clickhouse_connect

    table = f"otelcap_doctor_{uuid.uuid4().hex[:12]}"
    marker = uuid.uuid4().hex
    try:
        client = clickhouse_connect.get_client(**target.client_kwargs(target.database, 30))
        try:
            client.command(f"CREATE TABLE `{table}` (v String) ENGINE = Memory")
            try:
                client.insert(table, [[marker]], column_names=["v"])
                got = client.query(f"SELECT v FROM `{table}`").result_rows
            finally:
                client.command(f"DROP TABLE IF EXISTS `{table}`")
        finally:
            client.close()
    except Exception as exc:
        return _check(
            "server",
            "clickhouse_write",
            WARN,
            f"could not test a write with a scratch table: {_first_line(exc)}",
            "the collector's user needs INSERT on the otel_* tables (and CREATE TABLE "
            "only to create them)",
        )
    if got != [(marker,)]:
        message = f"a test row did not come back from a scratch table (got {got!r})"
        return _check("server", "clickhouse_write", FAIL, message)
    return _check("server", "clickhouse_write", OK, "a test row round-trips (scratch table)")


# --- what has arrived -------------------------------------------------------------------------

_EVENTS_SQL = (
    "SELECT EventName AS name, count(*) AS n, max(Timestamp) AS last "
    "FROM otel_logs GROUP BY EventName ORDER BY n DESC"
)
_METRICS_SQL = "SELECT * FROM ({}) AS m ORDER BY n DESC".format(
    " UNION ALL ".join(
        f"SELECT MetricName AS name, count(*) AS n, max(TimeUnix) AS last FROM {t} "
        "GROUP BY MetricName"
        for t in (
            "otel_metrics_sum",
            "otel_metrics_gauge",
            "otel_metrics_histogram",
            "otel_metrics_exponential_histogram",
            "otel_metrics_summary",
        )
    )
)
_SPANS_SQL = (
    "SELECT SpanName AS name, count(*) AS n, max(Timestamp) AS last "
    "FROM otel_traces GROUP BY SpanName ORDER BY n DESC"
)
# Claude Code's version: app.version on events, service.version on the metrics' resource.
_VERSIONS_SQL = (
    "SELECT app_version, sum(n) AS n, max(last) AS last FROM ("
    "SELECT AppVersion AS app_version, count(*) AS n, max(Timestamp) AS last "
    "FROM otel_logs GROUP BY AppVersion UNION ALL "
    "SELECT coalesce(ResourceAttributes['service.version'], '') AS app_version, count(*) AS n, "
    "max(TimeUnix) AS last FROM otel_metrics_sum "
    "GROUP BY coalesce(ResourceAttributes['service.version'], '')"
    ") AS v WHERE app_version <> '' GROUP BY app_version ORDER BY last DESC"
)
_TEMPORALITY_SQL = (
    "SELECT AggregationTemporality AS temporality, count(*) AS n, max(TimeUnix) AS last "
    "FROM otel_metrics_sum GROUP BY AggregationTemporality ORDER BY n DESC"
)
_PROMPTS_SQL = (
    "SELECT count(*) AS n, "
    f"sum(CASE WHEN p NOT IN ('', '{REDACTED}') THEN 1 ELSE 0 END) AS with_text FROM ("
    "SELECT coalesce(LogAttributes['prompt'], '') AS p FROM otel_logs "
    f"WHERE EventName = 'user_prompt' ORDER BY Timestamp DESC LIMIT {RECENT_PROMPTS}) AS recent"
)
_TOOLS_SQL = (
    "SELECT count(*) AS n, sum(CASE WHEN details <> '' THEN 1 ELSE 0 END) AS with_details, "
    "sum(CASE WHEN failed THEN 1 ELSE 0 END) AS failures, "
    "sum(CASE WHEN failed AND error_text = '' THEN 1 ELSE 0 END) AS failures_without_text "
    "FROM (SELECT concat(coalesce(LogAttributes['tool_parameters'], ''), "
    "coalesce(LogAttributes['tool_input'], '')) AS details, "
    "coalesce(EventName = 'tool_result' AND Success = false, false) AS failed, "
    "Error AS error_text FROM otel_logs WHERE EventName IN ('tool_result', 'tool_decision') "
    f"ORDER BY Timestamp DESC LIMIT {RECENT_TOOL_EVENTS}) AS recent"
)
_FIX_NOTHING = (
    "point Claude Code at {where} (`otelcap setup claude` prints the settings; "
    "OTEL_EXPORTER_OTLP_PROTOCOL must match the port: grpc → the gRPC port, http/protobuf or "
    "http/json → the HTTP port), restart it and run a prompt. Claude Code exports events every "
    "5 s and metrics every 60 s by default"
)
_FIX_NO_LOGS = "metrics arrive but no events: set OTEL_LOGS_EXPORTER=otlp"
_FIX_NO_METRICS = (
    "events arrive but no metrics: set OTEL_METRICS_EXPORTER=otlp (and wait: Claude Code "
    "exports metrics every 60 s by default)"
)
_FIX_NO_SPANS = (
    "optional: Claude Code sends spans only with CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 and "
    "OTEL_TRACES_EXPORTER=otlp (`otelcap setup claude --traces`); they add per-request and "
    "per-tool timing"
)
_FIX_REFUSED = (
    "invalid: the body was not OTLP for its Content-Type; too_large: over the body limit; "
    "overloaded or store_unavailable: the store could not keep up (see the server log), and "
    "the client retries"
)
_FIX_PROMPTS = (
    "optional: `otelcap setup claude --log-prompts` (otelcap still stores only a keyed hash "
    "and the length)"
)
_FIX_TOOLS = (
    "optional: `otelcap setup claude --tool-details` (otelcap hashes the content and masks "
    "secrets; `otelcap privacy` lists the rules)"
)


def check_arrived(cfg: Config, live: Running | None, now: dt.datetime) -> list[Check]:
    def q(sql: str) -> list[dict[str, Any]]:
        return running.read(cfg, sql)

    events, points, spans = q(_EVENTS_SQL), q(_METRICS_SQL), q(_SPANS_SQL)
    n_events, n_points = sum(r["n"] for r in events), sum(r["n"] for r in points)
    if not (n_events or n_points or spans):
        where = "otelcap"
        if live and live.grpc_port:
            where = f"the running otelcap (gRPC :{live.grpc_port}, HTTP :{live.http_port})"
        fix = _FIX_NOTHING.format(where=where)
        return [_check("data", "arrived", WARN, "nothing has arrived yet", fix)]
    checks = [
        _signal("logs", "event", events, now, WARN, _FIX_NO_LOGS),
        _signal("metrics", "data point", points, now, WARN, _FIX_NO_METRICS),
        _signal("traces", "span", spans, now, WARN, _FIX_NO_SPANS),
        _versions(q(_VERSIONS_SQL)),
        _protocol(live),
    ]
    if n_points:
        checks.append(_temporality(q(_TEMPORALITY_SQL)))
    if n_events:
        checks.append(_prompts(q(_PROMPTS_SQL)[0]))
        checks.extend(_tools(q(_TOOLS_SQL)[0]))
    return checks


def _signal(
    signal: str, unit: str, rows: list[dict[str, Any]], now: dt.datetime, if_none: str, fix: str
) -> Check:
    total = sum(r["n"] for r in rows)
    names = [{"name": r["name"], "count": r["n"], "last_seen": _iso(r["last"])} for r in rows]
    if not total:
        message = f"{signal}: none" + (" (the traces beta is off)" if signal == "traces" else "")
        return _check("data", signal, if_none, message, fix, total=0, names=[])
    last = max(r["last"] for r in rows if r["last"] is not None)
    listed = _SEP.join(f"{r['name'] or '(unnamed)'} {r['n']}" for r in rows[:12])
    if len(rows) > 12:
        listed += f"{_SEP}and {len(rows) - 12} more"
    message = (
        f"{signal}: {_n(total, unit)} ({_n(len(rows), 'name')}), last seen {_when(last, now)}"
        f"\n{listed}"
    )
    return _check("data", signal, OK, message, total=total, names=names)


def _versions(rows: list[dict[str, Any]]) -> Check:
    versions = [r["app_version"] for r in rows]
    data = {
        "versions": [
            {"version": r["app_version"], "count": r["n"], "last_seen": _iso(r["last"])}
            for r in rows
        ]
    }
    if not versions:
        return _check("data", "versions", INFO, "Claude Code version: not reported", **data)
    if len(versions) == 1:
        return _check("data", "versions", OK, f"Claude Code version {versions[0]}", **data)
    message = f"Claude Code versions, latest first: {', '.join(versions)}"
    return _check("data", "versions", OK, message, **data)


def _protocol(live: Running | None) -> Check:
    """Requests per protocol, from the running server's own counters (/metrics)."""
    samples = running.metrics(live.host, live.http_port) if live else None
    if samples is None:
        message = "protocol: unknown (a running otelcap counts requests per protocol)"
        return _check("data", "protocol", INFO, message)
    ok: dict[str, int] = {}
    refused: dict[str, int] = {}
    for (name, labels), value in samples.items():
        lab = dict(labels)
        if name == "otelcap_requests_total" and value:
            into = ok if lab.get("outcome") == "ok" else refused
            key = lab["protocol"] if into is ok else lab.get("outcome", "?")
            into[key] = into.get(key, 0) + int(value)
    if not ok and not refused:
        message = "protocol: no requests since this otelcap started"
        return _check("data", "protocol", INFO, message, requests={}, refused={})
    text = ", ".join(f"{p} ({_n(n, 'request')})" for p, n in sorted(ok.items())) or "none stored"
    if not refused:
        return _check("data", "protocol", OK, f"protocol since start: {text}", requests=ok)
    why = ", ".join(f"{o} {n}" for o, n in sorted(refused.items()))
    message = f"protocol since start: {text}; refused: {why}"
    return _check("data", "protocol", WARN, message, _FIX_REFUSED, requests=ok, refused=refused)


def _temporality(rows: list[dict[str, Any]]) -> Check:
    kinds = [_TEMPORALITY.get(r["temporality"], str(r["temporality"])) for r in rows]
    counts = {k: r["n"] for k, r in zip(kinds, rows, strict=True)}
    if kinds == ["delta"]:
        text = "delta (Claude Code's default)"
    elif kinds == ["cumulative"]:
        text = "cumulative (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)"
    else:
        text = " and ".join(kinds) + " (each series is summed by its own temporality)"
    return _check("data", "temporality", INFO, f"metric temporality: {text}", counts=counts)


def _prompts(row: dict[str, Any]) -> Check:
    """OTEL_LOG_USER_PROMPTS, judged on the latest prompts: without it Claude Code sends
    `<REDACTED>` (or, in some versions, no prompt attribute)."""
    n, with_text = row["n"] or 0, row["with_text"] or 0
    data = {"recent": n, "with_text": with_text}
    if not n:
        return _check("data", "prompts", INFO, "prompts: no user_prompt events yet", **data)
    if with_text:
        message = (
            f"prompt text arrives ({with_text} of the latest {_n(n, 'prompt')}); otelcap "
            "stores a keyed hash and the length, not the text"
        )
        return _check("data", "prompts", OK, message, **data)
    latest = (
        "the only user_prompt event carries"
        if n == 1
        else (f"the latest {n} user_prompt events carry")
    )
    message = (
        f"prompts: {latest} no text (<REDACTED>): OTEL_LOG_USER_PROMPTS is off, so equal "
        "prompts cannot be grouped and slash-command workflow steps are unknown"
    )
    return _check("data", "prompts", WARN, message, _FIX_PROMPTS, **data)


def _tools(row: dict[str, Any]) -> list[Check]:
    """OTEL_LOG_TOOL_DETAILS, judged on the latest tool events: with it they carry
    tool_parameters or tool_input."""
    n = row["n"] or 0
    data = {k: row[k] or 0 for k in ("with_details", "failures", "failures_without_text")}
    if not n:
        return []
    if data["with_details"]:
        message = (
            f"tool details arrive ({data['with_details']} of the latest {_n(n, 'tool event')}); "
            "otelcap hashes tool parameters and masks secrets in error text"
        )
        return [_check("data", "tool_details", OK, message, recent=n, **data)]
    failures = ""
    if data["failures_without_text"]:
        failures = f"; {_n(data['failures_without_text'], 'failed tool call')} without error text"
    message = (
        f"tool details: the latest {_n(n, 'tool event')} carry no tool_parameters or tool_input: "
        "OTEL_LOG_TOOL_DETAILS is off, so Bash commands, file paths, MCP and skill names and "
        f"tool error text are missing{failures}"
    )
    return [_check("data", "tool_details", WARN, message, _FIX_TOOLS, recent=n, **data)]


# --- rendering --------------------------------------------------------------------------------


def render(report: Report, fmt: str = "text") -> str:
    if fmt == "json":
        return report.to_json()
    lines = [f"otelcap doctor: {report.backend} {report.database}", ""]
    for section, title in SECTIONS.items():
        checks = [c for c in report.checks if c.section == section]
        if not checks:
            continue
        lines.append(title)
        for c in checks:
            first, *rest = c.message.split("\n")
            keep = _paths(report, c)
            lines.extend(_wrap(first, f"  {SYMBOL[c.status]} ", "    ", keep))
            for line in rest:  # a list of names: break between items, not inside one
                lines.extend(_pack(line.split(_SEP), "      "))
            if c.fix:
                lines.extend(_wrap(c.fix, "    → ", "      ", keep))
        lines.append("")
    fails = sum(c.status == FAIL for c in report.checks)
    warns = sum(c.status == WARN for c in report.checks)
    warn_text = f"{warns} warning{'s' if warns != 1 else ''}"
    if fails:
        lines.append(f"{fails} check{'s' if fails != 1 else ''} failed, {warn_text}.")
    else:
        lines.append(f"No problems; {warn_text}.")
    return "\n".join(lines)


def _wrap(text: str, first: str, rest: str, keep: tuple[str, ...] = ()) -> list[str]:
    """Lines of at most WIDTH columns that never split what a user copies or reads as one:
    a `command`, a path (also one in `keep` that holds spaces, like macOS's "Application
    Support"), a process ("pid 123 (its command line)"). One of those longer than the line
    gets a line of its own, however long; a venv path alone can pass 100 columns."""
    glued = text
    for start, end in _unbreakable(text, keep):
        glued = glued[:start] + glued[start:end].replace(" ", _GLUE) + glued[end:]
    wrapped = textwrap.wrap(
        glued, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
        break_long_words=False,
    )  # fmt: skip
    return [line.replace(_GLUE, " ") for line in wrapped] or [first.rstrip()]


def _unbreakable(text: str, keep: tuple[str, ...]) -> list[tuple[int, int]]:
    spans = [m.span() for m in _COMMAND.finditer(text)]
    for m in _PROCESS.finditer(text):  # to its closing parenthesis: argv may hold some
        depth, end = 0, len(text)
        for i in range(m.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                end = i + 1
                break
        spans.append((m.start(), end))
    for path in keep:
        spans += [m.span() for m in re.finditer(re.escape(path), text)]
    return spans


def _paths(report: Report, check: Check) -> tuple[str, ...]:
    """The paths a check may print that hold a space, with their parents (the nearest
    existing directory is printed too): textwrap would break inside them."""
    found = {report.database, report.data_dir, str(check.data.get("path", ""))}
    out: set[str] = set()
    for p in found:
        out.update(q for q in (p, *map(str, Path(p).parents)) if " " in q)
    return tuple(out)


def _pack(items: list[str], indent: str) -> list[str]:
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(indent + line + _SEP + item) > WIDTH:
            lines.append(indent + line)
            line = item
        else:
            line = f"{line}{_SEP}{item}" if line else item
    return [*lines, indent + line]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _when(ts: dt.datetime | None, now: dt.datetime) -> str:
    if ts is None:
        return "never"
    ts = ts.replace(tzinfo=dt.timezone.utc) if ts.tzinfo is None else ts
    text = ts.strftime("%Y-%m-%d %H:%M:%S UTC")
    ago = (now - ts).total_seconds()
    if ago < 0:
        return f"{text} (in the future: check the clocks)" if ago < -300 else text
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if ago >= size:
            return f"{text} ({int(ago // size)} {unit} ago)"
    return f"{text} ({int(ago)} s ago)"


def _iso(ts: dt.datetime | None) -> str | None:
    if ts is None:
        return None
    return (ts.replace(tzinfo=dt.timezone.utc) if ts.tzinfo is None else ts).isoformat()
