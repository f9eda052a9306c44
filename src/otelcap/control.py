"""The client of a running server's control endpoint (queryapi.py is the server): one HTTP
helper, one error policy, used only by the access layer.

Every failure becomes one error with one message, whichever request it was:
- nothing listens on the record's port, or something that is not otelcap answers there →
  ServerGone; the server is gone (killed, crashed), so its record is removed and the next
  command does not try it again;
- no answer in time → ControlTimeout, naming the timeout and what to do;
- 401 → TokenRefused: the record's token is not the running server's;
- 5xx → ServerFailed with the server's own message;
- any other refusal (bad SQL, a statement that writes, a bad parameter) → QueryError with the
  server's message.
"""

from __future__ import annotations

import http.client
import json
from typing import TYPE_CHECKING, Any

from otelcap import registry
from otelcap.errors import OtelcapError, QueryError
from otelcap.queryapi import (
    ACTION_PATH,
    ARROW_STREAM,
    PATH,
    SERVER_HEADER,
    STATUS_PATH,
    encode_params,
)
from otelcap.registry import ServerRecord

if TYPE_CHECKING:
    import pyarrow as pa

# A local server answers its status in milliseconds, even while it ingests hundreds of
# requests a second; 5 s tells a stuck or foreign listener from a busy otelcap.
PROBE_TIMEOUT_S = 5.0
# A query over a big file, or an import chunk of 250k rows, may take minutes; the server is
# local, so a long wait is work, not the network.
TIMEOUT_S = 600.0


class ServerGone(OtelcapError):
    """Nothing answers where the record says a server listens; the record was removed."""


class ControlTimeout(OtelcapError):
    """The server took longer than the timeout to answer."""


class TokenRefused(OtelcapError):
    """The server refused the record's token."""


class ServerFailed(OtelcapError):
    """The server answered with an error of its own (500)."""


class Control:
    """Requests to one server's control endpoint, as its record describes it."""

    def __init__(self, record: ServerRecord, timeout_s: float | None = None) -> None:
        self.record = record
        self._timeout_s = timeout_s

    @property
    def timeout_s(self) -> float:
        return TIMEOUT_S if self._timeout_s is None else self._timeout_s

    @property
    def who(self) -> str:
        return f"the otelcap at {self.record.control} (pid {self.record.pid})"

    def status(self, timeout_s: float | None = None) -> dict[str, Any]:
        """GET /v1/status: the server's own figures (endpoints, requests, queue, spool)."""
        data = self._request("GET", STATUS_PATH, None, timeout_s or PROBE_TIMEOUT_S)
        answer = self._json(data)
        if not isinstance(answer, dict):
            raise ServerFailed(f"{self.who} answered {STATUS_PATH} with something else than JSON")
        return answer

    def query(self, sql: str, params: dict[str, Any] | None) -> pa.Table:
        """POST /v1/query: the result as the store made it (Arrow IPC, types kept)."""
        import pyarrow as pa

        body = json.dumps({"sql": sql, "params": encode_params(params or {})}).encode()
        data = self._request("POST", PATH, body, self.timeout_s)
        return pa.ipc.open_stream(data).read_all()

    def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/maintenance/<name>: work done by the process that owns the store."""
        body = json.dumps(payload).encode()
        data = self._request("POST", ACTION_PATH + name, body, self.timeout_s)
        answer = self._json(data)
        if not isinstance(answer, dict):
            raise ServerFailed(f"{self.who} answered {name} with something else than a JSON object")
        return answer

    # --- the one request, the one error policy ---------------------------------------------

    def _request(self, method: str, path: str, body: bytes | None, timeout_s: float) -> bytes:
        rec = self.record
        headers = {"Authorization": f"Bearer {rec.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            status, answer_headers, data = _exchange(
                rec.host, rec.port, method, path, body, headers, timeout_s
            )
        except TimeoutError:
            raise ControlTimeout(
                f"{self.who} did not answer {path} within {timeout_s:g} s. It may be busy (a "
                "long query or import): try again, narrow the query (--since), or read the "
                "server's log; `otelcap status` shows whether it still runs"
            ) from None
        except ConnectionRefusedError:
            # Nothing listens where a running server would: it was killed or crashed.
            registry.remove(rec)
            raise ServerGone(
                f"no otelcap answers at {rec.control} (pid {rec.pid}); its record was removed. "
                "Run the command again (it opens the data itself), or start `otelcap serve`"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            why = str(exc) or type(exc).__name__
            raise ServerGone(
                f"{self.who} closed the connection without answering {path} ({why}): it may "
                "have stopped or crashed; read its log, then run the command again"
            ) from None
        if not answer_headers.get("server", "").startswith(SERVER_HEADER):
            # Another program took the port of a server that was killed (and its pid lives on).
            registry.remove(rec)
            raise ServerGone(
                f"something else than otelcap answers at {rec.control} (HTTP {status}); the "
                f"record of pid {rec.pid} was removed. Run the command again"
            )
        if status == 200:
            if path == PATH and answer_headers.get("content-type") != ARROW_STREAM:
                raise ServerFailed(f"{self.who} answered {path} with something else than Arrow")
            return data
        message = _message(data)
        if status == 401:
            where = f" {rec.path}" if rec.path else ""
            raise TokenRefused(
                f"{self.who} refused the token of its record{where}: the record belongs to "
                f"another server. Restart `otelcap serve`, or remove{where or ' the record'}"
            )
        if status >= 500:
            raise ServerFailed(f"{self.who} failed: {message}")
        raise QueryError(message)

    def _json(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            raise ServerFailed(f"{self.who} answered with something else than JSON") from None


def otelcap_on(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Whether an otelcap's receiver answers on this port (its /healthz names it in the
    `Server:` header): how `otelcap doctor` tells another otelcap from another program. A
    local otelcap answers in milliseconds; 1 s is for a listener that never answers."""
    try:
        _status, headers, _data = _exchange(host, port, "GET", "/healthz", None, {}, timeout_s)
    except (OSError, http.client.HTTPException):
        return False
    return headers.get("server", "").startswith("otelcap")


def _exchange(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout_s: float,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request: (status, headers with lower-case names, body). The stdlib's errors
    go to the caller, whose policy they meet."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _message(data: bytes) -> str:
    """The server's own error text: {"error": "..."} as queryapi sends it, else the body."""
    try:
        body = json.loads(data)
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])
    except ValueError:
        pass
    return data.decode(errors="replace")[:500] or "(no message)"
