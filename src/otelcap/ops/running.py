"""Is an otelcap running for this configuration, where, and who holds a port.

A server that serves a DuckDB file writes <data_dir>/server.json (queryapi); its /v1/status
answers with its endpoints and figures. A server without that endpoint (another backend, or
another data directory) is still recognised on its HTTP port: /healthz answers with the
`Server: otelcap …` header.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otelcap.config import Config
from otelcap.queryapi import Server, ServerGone, find_server, remote_status

PROBE_TIMEOUT_S = 1.0  # a local otelcap answers in milliseconds; a silent listener is not one
_ANY_HOST = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def human_bytes(n: float | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def client_host(host: str) -> str:
    """The address a local client dials for a server listening on `host`."""
    return _ANY_HOST.get(host, host)


@dataclass(frozen=True)
class Running:
    """A running otelcap. `status` is its /v1/status ({} when it has no query endpoint)."""

    host: str
    http_port: int
    grpc_port: int | None = None
    pid: int | None = None
    server: Server | None = None  # the query endpoint: reads go through it
    status: dict[str, Any] = field(default_factory=dict)
    healthy: bool | None = None

    @property
    def database(self) -> str | None:
        db = self.status.get("database")
        return str(db) if db else None


@dataclass(frozen=True)
class Stale:
    """server.json names a server that no longer answers (it was killed)."""

    path: Path
    pid: int | None


def find(config: Config) -> Running | Stale | None:
    """The otelcap serving this configuration's database, if one answers."""
    server = find_server(config.data_dir, config.database)
    if server is not None:
        try:
            st = remote_status(server)
        except ServerGone:
            return Stale(Path(config.data_dir) / "server.json", _pid_in_server_file(config))
        host = client_host(str(st.get("host", config.host)))
        http_port = int(st.get("http_port", config.http_port))
        return Running(
            host=host,
            http_port=http_port,
            grpc_port=int(st["grpc_port"]) if "grpc_port" in st else None,
            pid=int(st["pid"]) if "pid" in st else None,
            server=server,
            status=st,
            healthy=healthz(host, http_port),
        )
    # A DuckDB server always writes server.json: one answering on the port without it serves
    # another file. Other backends' servers have no query endpoint; the port is all we have.
    host = client_host(config.host)
    if config.backend != "duckdb" and config.http_port:
        health = healthz(host, config.http_port)  # None: nothing, or not an otelcap, answers
        if health is not None:
            return Running(host=host, http_port=config.http_port, healthy=health)
    return None


def _pid_in_server_file(config: Config) -> int | None:
    import json

    try:
        return int(json.loads((Path(config.data_dir) / "server.json").read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _get(host: str, port: int, path: str) -> tuple[int, dict[str, str], bytes] | None:
    conn = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT_S)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def is_otelcap(host: str, port: int) -> bool:
    return healthz(host, port) is not None


def healthz(host: str, port: int) -> bool | None:
    """True when the server's writer commits, False when it says it cannot, None: no answer."""
    got = _get(host, port, "/healthz")
    if got is None or not got[1].get("server", "").startswith("otelcap"):
        return None
    return got[0] == 200


Sample = tuple[str, tuple[tuple[str, str], ...]]
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(host: str, port: int) -> dict[Sample, float] | None:
    """The server's Prometheus /metrics as {(name, labels): value}, or None if unreachable.
    Parses our own exposition (selfmetrics): one sample per line, no timestamps."""
    got = _get(host, port, "/metrics")
    if got is None or got[0] != 200:
        return None
    out: dict[Sample, float] = {}
    for line in got[2].decode(errors="replace").splitlines():
        m = _SAMPLE.match(line)
        if line.startswith("#") or not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        with contextlib.suppress(ValueError):
            out[(m.group(1), labels)] = float(m.group(3))
    return out


# --- ports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortState:
    free: bool
    error: str = ""  # why it cannot be bound: in use, permission denied, not a local address
    in_use: bool = False
    holder: str = ""  # "pid 123 (nc -l 4317)" when the system tells us


def probe_port(host: str, port: int) -> PortState:
    """Can `otelcap serve` listen on host:port? Binds the way the receivers do (address reuse
    on, so sockets in TIME_WAIT do not count as taken), then lets go."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError as exc:
            in_use = exc.errno == errno.EADDRINUSE
            return PortState(
                False, exc.strerror or str(exc), in_use, listener(port) if in_use else ""
            )
    return PortState(True)


def listener(port: int) -> str:
    """Best effort, Linux only: which process listens on this TCP port ("" when unknown; other
    users' processes are hidden from non-root users)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; inode is column 10
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return ""
    targets = {f"socket:[{i}]" for i in inodes}
    for pid in filter(str.isdigit, _listdir("/proc")):
        for fd in _listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    return f"pid {pid} ({_cmdline(pid)})"
            except OSError:
                continue
    return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _cmdline(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(" ".join(p.decode(errors="replace") for p in raw.split(b"\0")).split())
    return text if len(text) <= 80 else text[:77] + "..."


# --- reading ----------------------------------------------------------------------------------


def read(config: Config, sql: str) -> list[dict[str, Any]]:
    """Rows of a read-only query, wherever the data is: through the running server when it
    holds the DuckDB file, else from the file (querypack.execute decides). Timestamps come
    back as naive UTC datetimes (microseconds: Python has no nanoseconds)."""
    import pyarrow as pa

    from otelcap.querypack import execute

    table = execute(config, sql)
    cols = [
        col.cast(pa.timestamp("us", f.type.tz), safe=False)
        if pa.types.is_timestamp(f.type)
        else col
        for f, col in zip(table.schema, table.columns, strict=True)
    ]
    rows: list[dict[str, Any]] = pa.Table.from_arrays(cols, names=table.column_names).to_pylist()
    return rows
