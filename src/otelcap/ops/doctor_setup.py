"""doctor's set-up checks: data directory and disk, ports, server, Claude Code."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from otelcap import access
from otelcap.access import Lookup, Server
from otelcap.config import Config
from otelcap.ops import running
from otelcap.ops.doctor_report import (
    _SERVE,
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    FAIL,
    INFO,
    OK,
    WARN,
    Check,
    _check,
)


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
