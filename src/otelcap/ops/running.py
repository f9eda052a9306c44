"""Facts about this machine that status and doctor print: sizes, the address a client dials,
whether a port is free and who holds it.

Which server runs, and reaching it, is the access layer's (access.py): the registry of
running servers and their control endpoints.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

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
