"""The control endpoint: how other otelcap commands reach the store a running `otelcap
serve` holds. DuckDB lets one process open a file, even read-only, so while the server runs the
queries run inside it; with ClickHouse the server's figures (requests, queue, spool) live only
in the server, so the endpoint runs for every backend.

Server: a ThreadingHTTPServer on 127.0.0.1 and an ephemeral port; the service records it in the
registry (registry.py) with its token. A request must carry `Authorization: Bearer <token>`:
only someone who can read the user's data directory can query. POST /v1/query takes
`{"sql", "params"}` and answers an Arrow IPC stream, so types arrive exactly as the store
returned them. The SQL reads otelcap's tables and nothing else: the store refuses the rest, by
its engine (storage/sqlguard.py); the server's store is sealed before this endpoint starts.
GET /v1/status answers the server's own figures; GET /v1/statusline?session=…&tz=…&at=…
answers the few numbers Claude Code's status line shows, computed in the server by the handler
it is handed (statusline.py), so that client needs only the stdlib. POST
/v1/maintenance/<name> runs work that must happen in the process that owns the database (an
import's merge, a prune's deletes); the server is handed those handlers, as it is handed `run`.

The client is control.py. This module sits beside receiver and storage: it is handed
callables and imports neither.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa

from otelcap import logfmt
from otelcap.errors import OtelcapError, QueryError

log = logging.getLogger(__name__)

PATH = "/v1/query"
STATUS_PATH = "/v1/status"
# ?session=…&tz=…&at=…, JSON out. statusline.py's client spells this path and SERVER_HEADER
# itself: importing this module costs it ~25 ms (http.server, logging, pyarrow).
STATUSLINE_PATH = "/v1/statusline"
ACTION_PATH = "/v1/maintenance/"  # + the action's name; JSON in, JSON out
MAX_BODY = 1024 * 1024  # SQL text and parameters; results are not limited
ARROW_STREAM = "application/vnd.apache.arrow.stream"
SERVER_HEADER = "otelcap-control"


__all__ = ["QueryApi", "QueryError", "decode_params", "encode_params"]

Runner = Callable[[str, dict[str, Any] | None], pa.Table]
Check = Callable[[str], None]  # raises QueryError for SQL that must not run
StatusFn = Callable[[], dict[str, Any]]
Action = Callable[[dict[str, Any]], dict[str, Any]]
StatuslineFn = Callable[[dict[str, str]], dict[str, Any]]  # the query string's values


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
        run: Runner,
        host: str = "127.0.0.1",
        status: StatusFn | None = None,
        actions: dict[str, Action] | None = None,
        check: Check | None = None,
        statusline: StatuslineFn | None = None,
    ):
        self.run = run
        self.host = host
        self.status = status
        self.actions = dict(actions or {})
        self.check = check
        self.statusline = statusline
        self.token = secrets.token_urlsafe(32)
        logfmt.add_secret(self.token)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else 0

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
        log.info("control endpoint on http://%s:%d%s", self.host, self.port, PATH)

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None


class _Handler(BaseHTTPRequestHandler):
    api: QueryApi
    protocol_version = "HTTP/1.1"
    # `Server: otelcap-control`: the client tells its server from a program that took the
    # port of one that was killed.
    server_version = SERVER_HEADER
    sys_version = ""

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
        url = urlsplit(self.path)
        if url.path == STATUSLINE_PATH and self.api.statusline is not None:
            return self._statusline(dict(parse_qsl(url.query)))
        if self.path != STATUS_PATH or self.api.status is None:
            return self._error(404, "POST SQL to " + PATH)
        if not self._authorized():
            return
        try:
            body = json.dumps(self.api.status(), default=str).encode()
        except Exception as exc:  # the server's own failure: say what it was
            log.exception("status failed")
            return self._error(500, f"{type(exc).__name__}: {exc}")
        self._reply(200, body)

    def _statusline(self, values: dict[str, str]) -> None:
        if not self._authorized():
            return
        assert self.api.statusline is not None
        try:
            result = self.api.statusline(values)
        except (KeyError, ValueError, TypeError) as exc:
            return self._error(400, f"bad request: {exc}")
        except OtelcapError as exc:
            return self._error(400, str(exc))
        except Exception as exc:  # the server's own failure: say what it was
            log.exception("statusline failed")
            return self._error(500, f"{type(exc).__name__}: {exc}")
        self._reply(200, json.dumps(result, default=str).encode())

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
            if self.api.check is not None:
                self.api.check(sql)
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
