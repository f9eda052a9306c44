"""The loopback query endpoint: how `otelcap query` reads a DuckDB file that `otelcap serve`
holds. DuckDB lets one process open a file, even read-only, so while the server runs the
queries run inside it.

Server: a ThreadingHTTPServer on 127.0.0.1 and an ephemeral port. It writes
`<data_dir>/server.json` (port, token, database path; mode 0600, like the directory) when it
starts and removes it when it stops. A request must carry `Authorization: Bearer <token>`: only
someone who can read the user's data directory can query. The SQL reads otelcap's tables and
nothing else: the store it is handed refuses the rest, by its engine (see
storage/sqlguard.py); the server's store is sealed before this endpoint starts.

Client: `find_server` reads server.json; `remote_query` posts `{"sql", "params"}` and gets the
result as an Arrow IPC stream, so types arrive exactly as the store returned them.
`remote_status` GETs /v1/status: the running server's own figures (endpoints, ingest rate),
what `otelcap status` and `otelcap doctor` show.
`remote_action` posts JSON to /v1/maintenance/<name>: work that must run in the process that
owns the database (`otelcap import` merging a bundle, `otelcap prune`); the server is handed
the handlers, as it is handed `run`.

This module sits beside receiver and storage: it is handed a `run(sql, params)` callable and
imports neither.
"""

from __future__ import annotations

import datetime as dt
import hmac
import http.client
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa

from otelcap import logfmt
from otelcap.errors import OtelcapError
from otelcap.files import private_dir

log = logging.getLogger(__name__)

SERVER_FILE = "server.json"
PATH = "/v1/query"
STATUS_PATH = "/v1/status"
ACTION_PATH = "/v1/maintenance/"  # + the action's name; JSON in, JSON out
MAX_BODY = 1024 * 1024  # SQL text and parameters; results are not limited
TIMEOUT_S = 600.0  # a query over a big file may take a while; the server is local
ARROW_STREAM = "application/vnd.apache.arrow.stream"


class QueryError(OtelcapError):
    """The query failed: bad SQL, a bad parameter, or a statement that is not read-only."""


class ServerGone(OtelcapError):
    """server.json names a server that no longer answers (it crashed); open the file instead."""


Runner = Callable[[str, dict[str, Any] | None], pa.Table]
StatusFn = Callable[[], dict[str, Any]]
Action = Callable[[dict[str, Any]], dict[str, Any]]


# --- parameters over JSON ---------------------------------------------------------------------


def encode_params(params: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for k, v in params.items():
        if isinstance(v, dt.datetime):
            out[k] = ["timestamp", v.isoformat()]
        elif isinstance(v, dt.date):
            out[k] = ["date", v.isoformat()]
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[k] = ["value", v]
        else:
            raise QueryError(f"parameter {k}: cannot send a {type(v).__name__}")
    return out


def decode_params(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise QueryError("params must be an object")
    out: dict[str, Any] = {}
    for k, pair in raw.items():
        if not (isinstance(pair, list) and len(pair) == 2):
            raise QueryError(f"parameter {k}: expected [type, value]")
        kind, v = pair
        if kind == "timestamp":
            out[k] = dt.datetime.fromisoformat(v)
        elif kind == "date":
            out[k] = dt.date.fromisoformat(v)
        elif kind == "value":
            out[k] = v
        else:
            raise QueryError(f"parameter {k}: unknown kind {kind!r}")
    return out


# --- server -----------------------------------------------------------------------------------


class QueryApi:
    def __init__(
        self,
        data_dir: Path,
        database: Path,
        run: Runner,
        host: str = "127.0.0.1",
        status: StatusFn | None = None,
        actions: dict[str, Action] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.database = Path(database)
        self.run = run
        self.host = host
        self.status = status
        self.actions = dict(actions or {})
        self.token = secrets.token_urlsafe(32)
        logfmt.add_secret(self.token)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else 0

    @property
    def server_file(self) -> Path:
        return self.data_dir / SERVER_FILE

    def start(self) -> None:
        api = self

        class Handler(_Handler):
            pass

        Handler.api = api
        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="otelcap-query-api", daemon=True
        )
        self._thread.start()
        self._write_server_file()
        log.info("query endpoint on http://%s:%d%s", self.host, self.port, PATH)

    def _write_server_file(self) -> None:
        private_dir(self.data_dir)
        info = {
            "pid": os.getpid(),
            "host": self.host,
            "port": self.port,
            "token": self.token,
            "database": str(self.database.resolve()),
        }
        tmp = self.data_dir / f".{SERVER_FILE}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
        os.replace(tmp, self.server_file)  # readers never see half a file

    def stop(self) -> None:
        if self._httpd is None:
            return
        try:
            current = json.loads(self.server_file.read_text())
            if current.get("token") == self.token:  # another server may have taken over
                self.server_file.unlink()
        except (OSError, ValueError):
            pass
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None


class _Handler(BaseHTTPRequestHandler):
    api: QueryApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("query api: " + format, *args)

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._reply(status, json.dumps({"error": message}).encode())

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if hmac.compare_digest(auth.encode(), f"Bearer {self.api.token}".encode()):
            return True
        self._error(401, "missing or wrong token")
        return False

    def do_GET(self) -> None:
        if self.path != STATUS_PATH or self.api.status is None:
            return self._error(404, "POST SQL to " + PATH)
        if self._authorized():
            self._reply(200, json.dumps(self.api.status(), default=str).encode())

    def do_POST(self) -> None:
        if self.path.startswith(ACTION_PATH):
            return self._action(self.path[len(ACTION_PATH) :])
        if self.path != PATH:
            return self._error(404, "unknown path")
        if not self._authorized():
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._error(413, f"request over {MAX_BODY} bytes")
        try:
            req = json.loads(self.rfile.read(length))
            sql = req["sql"]
            params = decode_params(req.get("params") or {})
            if not isinstance(sql, str):
                raise TypeError("sql must be a string")
            table = self.api.run(sql, params or None)
        except (KeyError, ValueError, TypeError) as exc:
            return self._error(400, f"bad request: {exc}")
        except OtelcapError as exc:
            return self._error(400, str(exc))
        except Exception as exc:  # the engine's own errors: the client shows them
            return self._error(400, f"{type(exc).__name__}: {exc}")
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        self._reply(200, sink.getvalue().to_pybytes(), ARROW_STREAM)

    def _action(self, name: str) -> None:
        if not self._authorized():
            return
        action = self.api.actions.get(name)
        if action is None:
            return self._error(404, f"no action {name!r}")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._error(413, f"request over {MAX_BODY} bytes")
        try:
            payload = json.loads(self.rfile.read(length))
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object")
            result = action(payload)
        except (KeyError, ValueError, TypeError) as exc:
            return self._error(400, f"bad request: {exc}")
        except OtelcapError as exc:
            return self._error(400, str(exc))
        except Exception as exc:  # the server's own failure: say what it was
            log.exception("maintenance action %s failed", name)
            return self._error(500, f"{type(exc).__name__}: {exc}")
        self._reply(200, json.dumps(result, default=str).encode())


# --- client -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    token: str
    database: str


def find_server(data_dir: Path, database: Path) -> Server | None:
    """The running server for this database, from <data_dir>/server.json, or None."""
    path = Path(data_dir) / SERVER_FILE
    try:
        info = json.loads(path.read_text())
        server = Server(info["host"], int(info["port"]), info["token"], info["database"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if server.database != str(Path(database).resolve()):
        return None  # it serves another file; this one is free to open
    return server


def live_server(data_dir: Path, database: Path) -> Server | None:
    """find_server, then make sure it answers: a crashed server leaves its file behind, and
    its DuckDB lock went with it, so the caller can open the file itself."""
    server = find_server(data_dir, database)
    if server is None:
        return None
    try:
        remote_query(server, "SELECT 1", {})
    except ServerGone:
        return None
    return server


def remote_status(server: Server, timeout_s: float = 5.0) -> dict[str, Any]:
    """The running server's /v1/status; ServerGone when nothing answers (a stale server.json)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout_s)
    try:
        conn.request("GET", STATUS_PATH, headers={"Authorization": f"Bearer {server.token}"})
        resp = conn.getresponse()
        data = resp.read()
    except OSError as exc:  # refused, reset, timed out: not an otelcap that answers
        raise ServerGone(f"no server at {server.host}:{server.port}: {exc}") from None
    finally:
        conn.close()
    if resp.status != 200:
        raise ServerGone(f"{server.host}:{server.port} answered {resp.status} to {STATUS_PATH}")
    info: dict[str, Any] = json.loads(data)
    return info


def remote_action(server: Server, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST to the running server's /v1/maintenance/<name>; its JSON answer. QueryError
    carries the server's message when it refuses; ServerGone when nothing answers."""
    body = json.dumps(payload).encode()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT_S)
    try:
        conn.request(
            "POST",
            ACTION_PATH + name,
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"},
        )
        resp = conn.getresponse()
        data = resp.read()
    except ConnectionError as exc:
        raise ServerGone(f"no server at {server.host}:{server.port}: {exc}") from None
    finally:
        conn.close()
    try:
        reply = json.loads(data)
    except ValueError:
        reply = {"error": data.decode(errors="replace")[:500]}
    if resp.status != 200:
        raise QueryError(str(reply.get("error", reply)) if isinstance(reply, dict) else reply)
    return dict(reply)


def remote_query(server: Server, sql: str, params: dict[str, Any]) -> pa.Table:
    body = json.dumps({"sql": sql, "params": encode_params(params)}).encode()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT_S)
    try:
        conn.request(
            "POST",
            PATH,
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"},
        )
        resp = conn.getresponse()
        data = resp.read()
    except ConnectionError as exc:
        raise ServerGone(f"no server at {server.host}:{server.port}: {exc}") from None
    finally:
        conn.close()
    if resp.status != 200:
        try:
            message = json.loads(data)["error"]
        except (ValueError, KeyError, TypeError):
            message = data.decode(errors="replace")[:500]
        raise QueryError(message)
    return pa.ipc.open_stream(data).read_all()
