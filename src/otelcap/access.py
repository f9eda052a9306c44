"""One way to the data: every command that reads or maintains data gets its store here.

`open(config)` yields the running server's store when a server serves this configuration's
data, and otherwise the local store: the DuckDB file read-only (read-write for maintenance:
import, prune), or a ClickHouse reader. Both answer the same `Reader` protocol
(storage/base.py): `dialect`, `query(sql, params) → Arrow`, `close`. DuckDB lets one process
open a file, even read-only, so while `otelcap serve` holds it the only way in is through the
server's loopback control endpoint (queryapi.py, client control.py).

Which server (the registry, registry.py, has one record per running server):
- a configuration that names its data (--db or OTELCAP_DB, --backend clickhouse and its
  target) uses the server serving exactly that data, or opens the data itself;
- one that does not (the default file) uses the one server that runs, whatever it serves;
  with several it lists them and asks for --db (a usage error, exit 2);
- records of processes that are gone, or of servers that nothing answers for, are removed.

Abilities beyond reading are protocols (storage/base.py), checked on the store in hand: a
`RemoteStore` has exactly the abilities of the server's store, which the server lists in its
record, and each one is a maintenance action on the control endpoint (`serve_actions` is the
server's side of the same table).

Nothing else reads the server records or opens a store for a command.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otelcap import registry, storage
from otelcap.config import Config
from otelcap.control import Control, ServerGone
from otelcap.errors import ConfigError, QueryError
from otelcap.model import schema
from otelcap.registry import ServerRecord
from otelcap.storage.base import Mergeable, Prunable, Reader, SelfChecking, Spooled

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Lookup",
    "Mergeable",
    "Prunable",
    "Reader",
    "RemoteStore",
    "SelfChecking",
    "Server",
    "SeveralServers",
    "Spooled",
    "abilities",
    "dashboard_link",
    "database_file",
    "find",
    "key",
    "location",
    "open",
    "open_bundle",
    "otelcap_on",
    "serve_actions",
    "servers",
    "where",
]

Action = Callable[[dict[str, Any]], dict[str, Any]]


class SeveralServers(ConfigError):
    """More than one server runs and the command did not say which data it means."""


@dataclass(frozen=True)
class Server:
    """A running server that answered: its record and its /v1/status."""

    record: ServerRecord
    status: dict[str, Any]


@dataclass(frozen=True)
class Lookup:
    server: Server | None
    removed: tuple[ServerRecord, ...] = ()  # records of servers that are gone, dropped now


# --- finding the server ---------------------------------------------------------------------


def find(config: Config) -> Lookup:
    """The running server for this configuration (see the module's docstring), if any."""
    scan = registry.scan(config.data_dir)
    removed = list(scan.removed)
    candidates = scan.live
    if config.names_data:
        wanted = storage.key(config)
        candidates = [r for r in candidates if r.key == wanted]
    answering: list[Server] = []
    for record in sorted(candidates, key=lambda r: r.started):
        try:
            answering.append(Server(record, Control(record).status()))
        except ServerGone:
            removed.append(record)  # the control client removed its record
    # Servers on the same data (collectors sharing one ClickHouse) answer alike: the oldest.
    by_key = {s.record.key: s for s in reversed(answering)}
    if len(by_key) > 1:
        lines = "\n".join(f"  {_line(s.record)}" for s in answering)
        raise SeveralServers(
            f"{len(answering)} otelcap servers run with the data directory {config.data_dir}; "
            f"say which data you mean with --db (or OTELCAP_DB), or --backend clickhouse and "
            f"its --clickhouse-url:\n{lines}"
        )
    return Lookup(next(iter(by_key.values()), None), tuple(removed))


def _line(r: ServerRecord) -> str:
    return f"{r.target}  (pid {r.pid}, gRPC :{r.grpc_port}, HTTP :{r.http_port}, {r.backend})"


# --- opening ----------------------------------------------------------------------------------


@contextlib.contextmanager
def open(
    config: Config,
    *,
    write: bool = False,
    create: bool = False,
    direct: bool = False,
    lookup: Lookup | None = None,
) -> Iterator[Reader]:
    """The store to use for this configuration's data: the running server's, or the local
    one (read-only unless `write`; `create` makes a missing DuckDB file; NoDatabase when it
    is missing). `direct` skips the servers: `otelcap doctor` checks that this configuration
    itself reaches ClickHouse. `lookup` is a `find` the caller already made."""
    server = None if direct else (lookup or find(config)).server
    if server is not None:
        yield remote(server)
        return
    store = storage.open_local(config, write=write, create=create)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def open_bundle(directory: Path) -> Iterator[Reader]:
    """An exported bundle as a read-only store (DuckDB SQL), without importing it."""
    from otelcap.storage.bundle import BundleStore

    store = BundleStore(directory)
    try:
        yield store
    finally:
        store.close()


def location(config: Config) -> str:
    """Where this configuration's data is, fit to print (a ClickHouse URL without password)."""
    return storage.location(config)


def where(store: Reader, config: Config) -> str:
    """The store in hand, for a message: the running server and what it serves, or the data."""
    if isinstance(store, RemoteStore):
        return f"the running otelcap (pid {store.record.pid}) serving {store.record.target}"
    return location(config)


def key(config: Config) -> str:
    """What the record of a server serving this configuration's data says (`key`)."""
    return storage.key(config)


def database_file(config: Config) -> Path | None:
    """The local file holding this configuration's data (None for ClickHouse)."""
    return storage.database_file(config)


def servers(config: Config) -> list[ServerRecord]:
    """Every server recorded in the data directory whose process runs."""
    return registry.scan(config.data_dir).live


def otelcap_on(host: str, port: int) -> bool:
    """Whether an otelcap's receiver answers on host:port (one in another data directory,
    say, which has no record here)."""
    from otelcap.control import otelcap_on

    return otelcap_on(host, port)


def dashboard_link(config: Config) -> tuple[ServerRecord, str] | None:
    """A one-time link to the dashboard of the server serving this configuration's data
    (asked for over its control endpoint: the `ui_ticket` action), or None when none runs."""
    server = find(config).server
    if server is None:
        return None
    try:
        reply = Control(server.record).action("ui_ticket", {})
    except QueryError:
        raise QueryError(
            f"the running otelcap (pid {server.record.pid}, version "
            f"{server.record.version or 'unknown'}) serves no dashboard: restart `otelcap "
            "serve` with this version, or stop it and `otelcap ui` serves the file itself"
        ) from None
    return server.record, str(reply["url"])


# --- the remote store -------------------------------------------------------------------------


class RemoteStore:
    """The running server's store, through its control endpoint. The SQL runs in the server,
    on its store, in its dialect; `close` has nothing to release."""

    name = "remote"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.record = server.record
        self.dialect = server.record.dialect
        self.control = Control(server.record)

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        if isinstance(params, list):
            raise QueryError("the control endpoint binds parameters by name, not position")
        return self.control.query(sql, params)

    def status(self) -> dict[str, Any]:
        """The server's /v1/status now (`server.status` is what it said when it was found)."""
        return self.control.status()

    def close(self) -> None:
        pass


class _RemoteMerge:
    control: Control

    def merge_parquet(self, table: str, files: list[Path]) -> tuple[int, int]:
        reply = self.control.action("merge", {"table": table, "files": [str(f) for f in files]})
        return int(reply["inserted"]), int(reply["read"])


class _RemotePrune:
    control: Control

    def delete_before(self, table: str, cutoff: dt.datetime, limit: int) -> int:
        payload = {"table": table, "cutoff": cutoff.isoformat(), "limit": limit}
        return int(self.control.action("delete_before", payload)["deleted"])


class _RemoteSpool:
    control: Control

    @property
    def spool_bytes(self) -> int:
        return int(self.control.status().get("spool_bytes") or 0)


# ability name (in the record and on the wire) → (protocol, the client's side of it)
_ABILITIES: dict[str, tuple[type, type]] = {
    "merge": (Mergeable, _RemoteMerge),
    "delete_before": (Prunable, _RemotePrune),
    "spool": (Spooled, _RemoteSpool),
}
_REMOTE_CLASSES: dict[tuple[str, ...], type] = {}


def abilities(store: object) -> tuple[str, ...]:
    """The abilities a store has, by the protocols it satisfies: what a server records."""
    return tuple(name for name, (proto, _) in _ABILITIES.items() if isinstance(store, proto))


def remote(server: Server) -> RemoteStore:
    """A RemoteStore with the abilities the server's record lists, and no others."""
    names = tuple(n for n in _ABILITIES if n in server.record.abilities)
    cls = _REMOTE_CLASSES.get(names)
    if cls is None:
        mixins = tuple(_ABILITIES[n][1] for n in names)
        cls = type("RemoteStore", (*mixins, RemoteStore), {})
        _REMOTE_CLASSES[names] = cls
    store: RemoteStore = cls(server)
    return store


# --- the server's side ------------------------------------------------------------------------


def serve_actions(store: object) -> dict[str, Action]:
    """The maintenance actions a server offers for its store: one per ability that is an
    action (the spool is read from /v1/status)."""
    out: dict[str, Action] = {}
    if isinstance(store, Mergeable):
        out["merge"] = lambda payload: _merge(store, payload)
    if isinstance(store, Prunable):
        out["delete_before"] = lambda payload: _delete_before(store, payload)
    return out


def _merge(store: Mergeable, payload: dict[str, Any]) -> dict[str, Any]:
    table, files = payload.get("table"), payload.get("files")
    if table not in schema.TABLES or not isinstance(files, list):
        raise QueryError("merge wants a table name and a list of Parquet files")
    inserted, read = store.merge_parquet(str(table), [Path(f) for f in files])
    return {"inserted": inserted, "read": read}


def _delete_before(store: Prunable, payload: dict[str, Any]) -> dict[str, Any]:
    table, limit = payload.get("table"), payload.get("limit")
    if table not in schema.TABLES or not isinstance(limit, int) or limit <= 0:
        raise QueryError("delete_before wants a table name, a cutoff and a positive limit")
    cutoff = dt.datetime.fromisoformat(str(payload.get("cutoff")))
    return {"deleted": store.delete_before(str(table), cutoff, limit)}
