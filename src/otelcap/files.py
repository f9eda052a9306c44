"""Private files and directories: what otelcap creates holds the user's telemetry, so files are
0600 and directories 0700 whatever the umask.

Two parts, because otelcap does not create every file itself:
- `private_umask` at the start of every command and of a Service: DuckDB creates the
  database, recreates its WAL after each checkpoint and creates spill files in its temp
  directory, with the process umask. 0o077 makes those 0600/0700 too.
- `private_dir` / `private_file` for what otelcap creates, so a library caller with another
  umask gets the same modes.

Directories that already exist are never changed: one given with --db, or the parent of an
export, is the user's choice (it may be their home, or a project directory others share), and
the files otelcap puts inside are private anyway.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_umask() -> int:
    """Set the process umask to 0o077; the previous one."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path | str) -> Path:
    """Create `path` and every missing parent as 0700 (mkdir's `parents=True` would make the
    parents with the umask's mode); existing directories keep theirs."""
    path = Path(path)
    missing = []
    for p in (path, *path.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it meanwhile: theirs
            continue
        p.chmod(DIR_MODE)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path | str) -> Path:
    """Make a file otelcap just wrote (through a library that opens with the umask) 0600."""
    path = Path(path)
    path.chmod(FILE_MODE)
    return path
