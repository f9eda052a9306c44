"""Who holds a port or a file, best effort from /proc (Linux): facts that error messages carry
("in use by pid 123 (nc -l 4317)"), so a user need not go looking. Elsewhere, or for other
users' processes (hidden from non-root users), the answer is "" and messages say less.
"""

from __future__ import annotations

import os
from pathlib import Path


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
                    return f"pid {pid} ({cmdline(pid)})"
            except OSError:
                continue
    return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def cmdline(pid: int | str) -> str:
    """A process's command line, shortened to 80 characters; ? when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(" ".join(p.decode(errors="replace") for p in raw.split(b"\0")).split())
    return text if len(text) <= 80 else text[:77] + "..."


def holder(pid: int) -> str:
    """`pid 123 (its command line)`, for a message."""
    return f"pid {pid} ({cmdline(pid)})"
