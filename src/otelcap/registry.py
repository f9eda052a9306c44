"""The registry of running servers: one record per `otelcap serve`, in <data_dir>/servers/.

A server writes `<pid>-<control port>.json` when its control endpoint listens and removes that
file, and only that file, when it stops; any number of servers may run at once, each on its
own database or ClickHouse target. A record says what the server serves (`target`, fit to
print; `key`, what two configurations share when they mean the same data), where its control
endpoint and its receivers listen, its token, and what its store can do (`abilities`).

The directory is 0700 and each file 0600: the token in it is the only thing between a local
user and the database. Files are written whole and renamed into place, so a reader never sees
half a record. A killed server (kill -9, a crash) cannot remove its record; `scan` drops the
records whose process is gone, and the control client drops a record whose port no longer
answers (a pid can be reused).

Only the access layer (access.py) and the server (service.py) use this module.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DIRECTORY = "servers"


@dataclass(frozen=True)
class ServerRecord:
    pid: int
    host: str  # the control endpoint: loopback
    port: int
    token: str
    backend: str  # duckdb | clickhouse
    dialect: str  # the SQL its store speaks
    target: str  # a DuckDB path, or a ClickHouse URL without its password: fit to print
    key: str  # the same data has the same key (storage.key): how `--db` finds its server
    file: str = ""  # the DuckDB file, "" when the data is not in a local file
    ingest_host: str = "127.0.0.1"  # where its receivers listen
    grpc_port: int = 0
    http_port: int = 0
    started: float = 0.0  # Unix time
    version: str = ""
    abilities: tuple[str, ...] = ()  # what its store can do beyond reading (access.ABILITIES)
    path: Path | None = field(default=None, compare=False)  # the record's own file

    def to_json(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "path"}
        body["abilities"] = list(self.abilities)
        return json.dumps(body, indent=2)

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> ServerRecord:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("a server record is a JSON object")
        known = {f.name for f in fields(cls)} - {"path"}
        values: dict[str, Any] = {k: v for k, v in raw.items() if k in known}
        values["abilities"] = tuple(values.get("abilities") or ())
        record = cls(**values, path=path)
        if not isinstance(record.pid, int) or not isinstance(record.port, int):
            raise ValueError("pid and port must be numbers")
        return record

    @property
    def control(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Scan:
    live: list[ServerRecord]  # records whose process runs (it may still not answer)
    removed: list[ServerRecord]  # records of processes that are gone, deleted by this scan


def directory(data_dir: Path) -> Path:
    return Path(data_dir) / DIRECTORY


def write(data_dir: Path, record: ServerRecord) -> ServerRecord:
    """Write the record atomically (0600 in a 0700 directory); the record with its path."""
    where = directory(data_dir)
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(where, 0o700)  # mkdir's mode is masked by the umask, and an old directory stays
    path = where / f"{record.pid}-{record.port}.json"
    tmp = where / f".{path.name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(record.to_json())
    os.replace(tmp, path)  # readers see the whole record or none
    return ServerRecord(**{**_values(record), "path": path})


def remove(record: ServerRecord) -> None:
    """Delete the record's file if it is still this record (same token): a new server that
    reuses the pid and port writes a record of its own, which stays."""
    if record.path is None:
        return
    try:
        current = ServerRecord.from_json(record.path.read_text())
    except (OSError, ValueError, TypeError):
        return
    if current.token == record.token:
        with contextlib.suppress(FileNotFoundError):
            record.path.unlink()


def scan(data_dir: Path) -> Scan:
    """Every record in the data directory; those of processes that no longer exist are
    removed (and returned as `removed`, so a command can say so)."""
    live: list[ServerRecord] = []
    removed: list[ServerRecord] = []
    try:
        paths = sorted(directory(data_dir).glob("*.json"))
    except OSError:
        return Scan([], [])
    for path in paths:
        try:
            record = ServerRecord.from_json(path.read_text(), path)
        except (OSError, ValueError, TypeError):
            continue  # not ours to judge: a file someone put there, or one being replaced
        if pid_alive(record.pid):
            live.append(record)
        else:
            remove(record)
            removed.append(record)
    return Scan(live, removed)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    return True


def _values(record: ServerRecord) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}
