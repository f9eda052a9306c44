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
from typing import Any

from otelcap import access, logfmt
from otelcap import config as config_mod
from otelcap.access import Lookup, Reader, SelfChecking
from otelcap.config import Config
from otelcap.errors import ConfigError, NoDatabase
from otelcap.ops.doctor_data import check_arrived
from otelcap.ops.doctor_report import FAIL, INFO, OK, WARN, Check, Report, _check
from otelcap.ops.doctor_setup import (
    check_claude_without_collector,
    check_data_dir,
    check_ports,
    check_server,
)
from otelcap.ops.doctor_store import (
    _cannot_open,
    _first_line,
    _has_clickhouse,
    _not_in_build,
    check_clickhouse,
    check_database,
)
from otelcap.ops.doctor_text import render

# diagnose runs the checks of the modules beside it, one per job: doctor_setup (data directory,
# ports, server, Claude Code), doctor_store (the database or ClickHouse), doctor_data (what has
# arrived); doctor_report is what a check is, doctor_text how the report prints.
__all__ = ["FAIL", "INFO", "OK", "WARN", "Check", "Report", "diagnose", "render"]


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
