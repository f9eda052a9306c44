"""Facts about this machine that status and doctor print: sizes, the address a client dials,
whether a port is free and who holds it.

Which server runs, and reaching it, is the access layer's (access.py): the registry of
running servers and their control endpoints.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from otelcap.procs import listener

__all__ = ["PortState", "client_host", "human_bytes", "listener", "probe_port"]

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
