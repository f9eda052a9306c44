"""`otelcap doctor`: pre-flight and connection checks, and what has arrived, in one report.

Every check returns `Check` records: ok (✓), warn (!: works, but something is missing), fail
(✗: otelcap cannot work like this) or info (·). Only a fail makes the exit code non-zero: a
content flag left off in Claude Code is the user's choice, so it is a warning with the fix.

Telemetry set-ups fail silently (nothing arrives and nobody says why), so the "what has
arrived" part reads the stored data itself: events and metrics per name with when each was
last seen, Claude Code versions, the protocol the server saw, metric temporality, and the
content that is missing because a Claude Code flag is off, judged on the latest events so a
flag turned on today counts. Its SQL is queries/_ops/doctor-*.sql (opsql.py), in both dialects,
run on the store the access layer hands over: the running server's, or the data itself.
"""

from __future__ import annotations

import contextlib
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

from otelcap import access, logfmt, opsql
from otelcap import config as config_mod
from otelcap.access import Lookup, Reader, RemoteStore, SelfChecking, Server
from otelcap.config import Config
from otelcap.errors import ConfigError, NoDatabase, OtelcapError
from otelcap.ops import running

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
SYMBOL = {OK: "✓", WARN: "!", FAIL: "✗", INFO: "·"}
SECTIONS = {"setup": "Set-up", "server": "Server and database", "data": "What has arrived"}
DISK_FAIL_BYTES = 100 * 1024**2  # below this a flush may fail half-way: refuse
DISK_WARN_BYTES = 1024**3
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
    lookup = _find(cfg)
    live = lookup.server
    checks += check_ports(cfg, live)
    checks.append(check_server(lookup))
    if lookup.server is None:
        checks += check_claude_without_collector(config_mod.claude_settings_file())
    if not backend_missing:
        with contextlib.ExitStack() as stack:
            store_checks, store = _check_store(cfg, lookup, stack)
            checks += store_checks
            if store is not None:
                try:
                    checks += check_arrived(store, live, now or dt.datetime.now(dt.timezone.utc))
                except Exception as exc:  # the store's or the engine's error: report it
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


def _find(cfg: Config) -> Lookup:
    """The server for this configuration; a ClickHouse setting that cannot be read is a failed
    check of its own (below), not a crash, so the rest of the report runs."""
    try:
        return access.find(cfg)
    except access.SeveralServers:
        raise
    except ConfigError:
        return Lookup(None)


def _check_store(
    cfg: Config, lookup: Lookup, stack: contextlib.ExitStack
) -> tuple[list[Check], Reader | None]:
    """The store's own checks, and the store to read what arrived from when it can be read."""
    try:
        store = stack.enter_context(access.open(cfg, lookup=lookup))
    except NoDatabase:
        return [
            _check(
                "server",
                "database",
                WARN,
                f"no database yet at {cfg.database}",
                "`otelcap serve` creates it",
                path=str(cfg.database),
            )
        ], None
    except ConfigError as exc:
        if not access.database_file(cfg):  # ClickHouse settings that cannot be read
            return [_check("server", "clickhouse", FAIL, f"ClickHouse configuration: {exc}")], None
        return [_cannot_open(cfg.database, exc)], None
    if store.dialect == "clickhouse":
        checked: Reader = store
        if not isinstance(store, SelfChecking) and cfg.names_data:
            # Through the server; this configuration's own login is checked too (the server
            # may use another user), with the write test only a direct connection can make.
            checked = stack.enter_context(access.open(cfg, direct=True))
        checks = check_clickhouse(checked, lookup.server)
        # Readable unless the connection or the tables failed (a failed test write is not).
        readable = all(c.status != FAIL for c in checks if c.name != "clickhouse_write")
    else:
        checks = [check_database(store, lookup.server, cfg)]
        readable = checks[0].status == OK
    return checks, store if readable else None


def _location(cfg: Config) -> str:
    try:
        return access.location(cfg)
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
    db_file = access.database_file(cfg)  # None: the data is not in a local file
    if db_file is not None and db_file.parent != Path(cfg.data_dir).absolute():
        dirs.append(("db_dir", "database directory", Path(cfg.database).parent, "--db"))
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


def check_server(lookup: Lookup) -> Check:
    found = lookup.server
    if found is None and lookup.removed:
        gone = lookup.removed[0]
        return _check(
            "server",
            "server",
            WARN,
            f"{gone.path} named a server (pid {gone.pid}) that no longer answers: it was "
            "stopped without cleaning up (kill -9, a crash); the record was removed",
            "start `otelcap serve`; what it acknowledged before it stopped is stored",
        )
    if found is None:
        return _check(
            "server",
            "server",
            INFO,
            "otelcap is not running for this database",
            "start it with `otelcap serve`",
        )
    rec = found.record
    host = running.client_host(rec.ingest_host)
    healthy = found.status.get("healthy")
    pid = f" (pid {rec.pid})"
    where = f"gRPC {host}:{rec.grpc_port}, HTTP http://{host}:{rec.http_port}"
    data: dict[str, Any] = {
        "pid": rec.pid,
        "host": host,
        "grpc_port": rec.grpc_port,
        "http_port": rec.http_port,
        "healthy": healthy,
        "serves": rec.target,
    }
    if healthy is False:
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


def check_claude_without_collector(settings: Path) -> list[Check]:
    """Claude Code set to send telemetry while no collector answers: it drops what it sends
    once its retries run out, so say so (a warning: Claude Code may not be running now)."""
    try:
        env = json.loads(settings.read_text(encoding="utf-8")).get("env", {})
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(env, dict) or str(env.get("CLAUDE_CODE_ENABLE_TELEMETRY")) != "1":
        return []
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "its default endpoint")
    return [
        _check(
            "server",
            "claude",
            WARN,
            f"Claude Code is set to send telemetry to {endpoint} ({settings}), but no otelcap "
            "answers: what it sends is dropped once its retries run out",
            "`otelcap service install` keeps a collector running in the background; or run "
            "`otelcap serve`",
        )
    ]


def check_ports(cfg: Config, live: Server | None) -> list[Check]:
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
        rec = live.record if live else None
        pid = f" (pid {rec.pid})" if rec else ""
        if rec and port in (rec.grpc_port, rec.http_port):
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
        elif _held_by_otelcap(cfg, host, port, state.holder):
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


def _held_by_otelcap(cfg: Config, host: str, port: int, holder: str) -> bool:
    """Another otelcap holds the port: one recorded here, one whose command line says so, or
    one that answers as otelcap (in another data directory, or another user's)."""
    recorded = any(port in (r.grpc_port, r.http_port) for r in access.servers(cfg))
    return (
        recorded
        or bool(_SERVE.search(holder))
        or access.otelcap_on(running.client_host(host), port)
    )


# --- the store --------------------------------------------------------------------------------


def _expected_columns() -> dict[str, set[str]]:
    from otelcap.model.schema import TABLES

    return {table: set(schema.names) for table, schema in TABLES.items()}


def _cannot_open(db: Path | str, exc: BaseException) -> Check:
    return _check(
        "server",
        "database",
        FAIL,
        f"cannot open {db}: {exc}",
        "if another program holds the file, stop it; if the file is damaged, move "
        "it away and let `otelcap serve` create a new one",
        path=str(db),
    )


def check_database(store: Reader, live: Server | None, cfg: Config) -> Check:
    """The DuckDB file opens (through the running server when it holds it) and has every
    table and column otelcap writes."""
    via = (
        f" (read through the running otelcap, pid {live.record.pid})"
        if isinstance(store, RemoteStore) and live
        else ""
    )
    db = live.record.target if live else cfg.database
    expected = _expected_columns()
    try:
        rows = _rows(store, "doctor-columns")
    except OtelcapError as exc:
        return _cannot_open(db, exc)
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


def check_clickhouse(store: Reader, live: Server | None) -> list[Check]:
    """Reachable and authenticated, database and tables present, and a test row round-trips
    (through a scratch table, so the telemetry tables never hold a doctor's row)."""
    if isinstance(store, SelfChecking):
        where, database = f"ClickHouse at {store.display}", store.database
    else:  # through the running server: its connection, its user
        where = f"ClickHouse at {live.record.target if live else '?'} (through the server)"
        database = ""
    try:
        about = _rows(store, "doctor-engine")[0]
        found: dict[str, set[str]] = {}
        for r in _rows(store, "doctor-columns"):
            found.setdefault(r["table_name"], set()).add(r["column_name"])
    except ConfigError as exc:  # the client library is missing
        return [_not_in_build(str(exc))]
    except Exception as exc:  # ours (StoreUnavailable, QueryFailed) and the driver's
        return [_clickhouse_failure(store, where, database, exc)]
    database = str(about["db"])
    checks = [_check("server", "clickhouse", OK, f"{where} answers (ClickHouse {about['v']})")]
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
                f"database {database} lacks {', '.join(missing)}",
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
                f"database {database} has every table but lacks {shown}",
                "add them with the ALTER TABLE … ADD COLUMN … DEFAULT forms of "
                "schema/clickhouse/*.sql; until then those values stay only in the "
                "attribute maps",
                missing_columns=missing_cols,
            )
        )
    else:
        message = f"database {database} has every table"
        checks.append(_check("server", "clickhouse_tables", OK, message))
    if isinstance(store, SelfChecking):
        checks.append(_clickhouse_round_trip(store))
    return checks


def _first_line(exc: BaseException) -> str:
    """A driver's message, shortened, with configured secrets masked (it may echo them)."""
    return logfmt.mask((str(exc).strip() or type(exc).__name__).splitlines()[0][:300])


def _clickhouse_failure(store: Reader, where: str, database: str, exc: BaseException) -> Check:
    kind = store.classify(exc) if isinstance(store, SelfChecking) else "unreachable"
    if kind == "login":
        return _check(
            "server",
            "clickhouse",
            FAIL,
            f"{where} refused the login: {_first_line(exc)}",
            "check clickhouse_user and OTELCAP_CLICKHOUSE_PASSWORD",
        )
    if kind == "database":
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


def _clickhouse_round_trip(store: SelfChecking) -> Check:
    try:
        got = store.test_write()
    except Exception as exc:
        return _check(
            "server",
            "clickhouse_write",
            WARN,
            f"could not test a write with a scratch table: {_first_line(exc)}",
            "the collector's user needs INSERT on the otel_* tables (and CREATE TABLE "
            "only to create them)",
        )
    if got is not None:
        message = f"a test row did not come back from a scratch table (got {got})"
        return _check("server", "clickhouse_write", FAIL, message)
    return _check("server", "clickhouse_write", OK, "a test row round-trips (scratch table)")


def _rows(store: Reader, name: str) -> list[dict[str, Any]]:
    """Rows of one of queries/_ops/doctor-*.sql, in the store's dialect, as Python values;
    timestamps as naive UTC datetimes (microseconds: Python has no nanoseconds)."""
    import pyarrow as pa

    table = store.query(opsql.sql(name, store.dialect), opsql.defaults(name) or None)
    cols = [
        col.cast(pa.timestamp("us", f.type.tz), safe=False)
        if pa.types.is_timestamp(f.type)
        else col
        for f, col in zip(table.schema, table.columns, strict=True)
    ]
    rows: list[dict[str, Any]] = pa.Table.from_arrays(cols, names=table.column_names).to_pylist()
    return rows


# --- what has arrived -------------------------------------------------------------------------

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


def check_arrived(store: Reader, live: Server | None, now: dt.datetime) -> list[Check]:
    def q(name: str) -> list[dict[str, Any]]:
        return _rows(store, name)

    events, points, spans = q("doctor-events"), q("doctor-metrics"), q("doctor-spans")
    n_events, n_points = sum(r["n"] for r in events), sum(r["n"] for r in points)
    if not (n_events or n_points or spans):
        where = "otelcap"
        if live:
            rec = live.record
            where = f"the running otelcap (gRPC :{rec.grpc_port}, HTTP :{rec.http_port})"
        fix = _FIX_NOTHING.format(where=where)
        return [_check("data", "arrived", WARN, "nothing has arrived yet", fix)]
    checks = [
        _signal("logs", "event", events, now, WARN, _FIX_NO_LOGS),
        _signal("metrics", "data point", points, now, WARN, _FIX_NO_METRICS),
        _signal("traces", "span", spans, now, WARN, _FIX_NO_SPANS),
        _versions(q("doctor-versions")),
        _protocol(live),
    ]
    if n_points:
        checks.append(_temporality(q("doctor-temporality")))
    if n_events:
        checks.append(_prompts(q("doctor-prompts")[0]))
        checks.extend(_tools(q("doctor-tools")[0]))
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
            {"version": r["app_version"], "count": r["total"], "last_seen": _iso(r["latest"])}
            for r in rows
        ]
    }
    if not versions:
        return _check("data", "versions", INFO, "Claude Code version: not reported", **data)
    if len(versions) == 1:
        return _check("data", "versions", OK, f"Claude Code version {versions[0]}", **data)
    message = f"Claude Code versions, latest first: {', '.join(versions)}"
    return _check("data", "versions", OK, message, **data)


def _protocol(live: Server | None) -> Check:
    """Requests per protocol, from the running server's own counters (/v1/status)."""
    if live is None:
        message = "protocol: unknown (a running otelcap counts requests per protocol)"
        return _check("data", "protocol", INFO, message)
    ok: dict[str, int] = {}
    refused: dict[str, int] = {}
    for r in live.status.get("requests", []):
        if not r.get("count"):
            continue
        into = ok if r.get("outcome") == "ok" else refused
        key = r.get("protocol", "?") if into is ok else r.get("outcome", "?")
        into[key] = into.get(key, 0) + int(r["count"])
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
