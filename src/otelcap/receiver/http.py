"""OTLP/HTTP receiver: POST /v1/logs, /v1/metrics, /v1/traces.

Protobuf (`application/x-protobuf`) or JSON (`application/json`), `Content-Encoding` gzip or
deflate, Content-Length or chunked bodies. Status codes and error bodies follow the OTLP
specification: the error body is a google.rpc.Status in the request's encoding.

One thread per connection, at most `http_max_connections` of them; a connection past that is
answered 503 + Retry-After by one shared thread (`_Refuser`). Every request must arrive whole
within `http_read_timeout_s` of its first byte, and a kept-alive connection with no request
for `http_idle_timeout_s` is closed, so no client holds a thread for longer than that.
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import logging
import math
import re
import selectors
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.rpc import status_pb2

from otelcap.config import Config
from otelcap.errors import BadRequest, ConfigError, Overloaded, PayloadTooLarge, StoreUnavailable
from otelcap.receiver.decode import decompress, parse_json, response, to_json
from otelcap.receiver.sink import Sink, count_request
from otelcap.selfmetrics import Registry

log = logging.getLogger(__name__)

PATHS = {"/v1/logs": "logs", "/v1/metrics": "metrics", "/v1/traces": "traces"}
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# gRPC status codes carried in the Status body (google.rpc.Code)
_CODE = {
    400: 3, 404: 5, 405: 12, 408: 4, 411: 3, 413: 8, 415: 3, 429: 8, 500: 13, 501: 12, 503: 14,
}  # fmt: skip
# Content-Length is digits only (RFC 9110 8.6): int() would also take "-1", "+5", " 5", "1_0".
# 18 digits is far past any limit and keeps int() away from its 4,300-digit guard.
_LENGTH = re.compile(r"[0-9]{1,18}")
# A chunk-size line: hex digits, optional extensions (RFC 9112 7.1); int(x, 16) takes "-5".
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?\r?\n")
_MAX_TRAILERS = 64  # trailer lines after the last chunk; all are read and ignored
# Logged request lines are cut here: a request line may be 64 KiB (http.server's limit), and
# masking a line costs up to the square of its longest unbroken run (Python re; ~1 s for
# 20,000 letters), so an attacker's line at debug level costs at most ~10 ms. OTLP paths are
# 10 characters.
_LOG_LINE_MAX = 2000
_LOG_CONTROL = str.maketrans(
    {c: f"\\x{c:02x}" for c in itertools.chain(range(0x20), range(0x7F, 0xA0))}
)  # escaped so a request cannot forge log lines or terminal sequences


# After an answer that closes a connection whose request was not read in full, keep reading
# (and dropping) what the client still sends, up to the body limit or LINGER_S: closing with
# unread bytes resets the connection, and a client still sending its body would then see the
# reset (EPIPE) instead of the answer.
LINGER_S = 2.0


class _Unframed(Exception):
    """Where the body ends cannot be known, so neither can where the next request starts:
    answer `status` and close the connection (RFC 9112 6.3)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _status_for(exc: Exception) -> tuple[int, str, dict[str, str] | None]:
    """(HTTP status, outcome label, extra headers) for an exception raised while ingesting."""
    if isinstance(exc, BadRequest):
        return 400, "invalid", None
    if isinstance(exc, PayloadTooLarge):
        return 413, "too_large", None
    if isinstance(exc, Overloaded):
        return 503, "overloaded", {"Retry-After": str(max(1, round(exc.retry_after_s)))}
    if isinstance(exc, StoreUnavailable):
        return 503, "store_unavailable", {"Retry-After": "1"}
    return 500, "internal_error", None


class _Deadline(io.RawIOBase):
    """The connection's socket as a raw stream whose reads fail once `at` (time.monotonic)
    has passed. A per-recv socket timeout alone never fires for a client that trickles one
    byte a second; this bounds the whole request instead."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.at = math.inf

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the read deadline passed")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


@dataclass
class _Held:
    """A connection being refused."""

    deadline: float  # time.monotonic() at which to answer (or, once answered, to close)
    answered: bool = False
    tail: bytes = b""  # the last bytes read before answering, to find the head's CRLF CRLF
    drained: int = 0  # bytes read after answering


class _Refuser:
    """Answers connections past http_max_connections with 503 + Retry-After, all from one
    thread, so a flood of connections costs one thread and not one each.

    It waits (up to HEAD_WAIT_S) for the request's head so the answer follows the request,
    as clients expect, then half-closes and lingers (see LINGER_S) before closing.
    """

    HEAD_WAIT_S = 1.0
    MAX_HELD = 256  # connections being refused at once; past this a new one is just closed

    def __init__(self, answer: bytes, max_drain: int) -> None:
        self._answer = answer
        self._max_drain = max_drain
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        for s in (self._wake_r, self._wake_w):
            s.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._incoming: collections.deque[socket.socket] = collections.deque()
        self._held: dict[socket.socket, _Held] = {}  # only the refuser's thread touches it
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="otelcap-http-refuse", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def refuse(self, sock: socket.socket) -> None:
        """Called by the accepting thread; never blocks."""
        if len(self._held) + len(self._incoming) >= self.MAX_HELD:
            sock.close()
            return
        self._incoming.append(sock)
        self._wake()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(5)
        for sock in [*self._held, *self._incoming]:
            sock.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full buffer: wake-ups are waiting already
            self._wake_w.send(b"x")

    def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            soonest = min((h.deadline for h in self._held.values()), default=now + 1.0)
            for key, _ in self._selector.select(max(0.0, soonest - now)):
                if key.fileobj is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    self._readable(key.fileobj)  # type: ignore[arg-type]
            while self._incoming:
                sock = self._incoming.popleft()
                sock.setblocking(False)
                self._held[sock] = _Held(time.monotonic() + self.HEAD_WAIT_S)
                self._selector.register(sock, selectors.EVENT_READ)
            now = time.monotonic()
            for sock, held in list(self._held.items()):
                if held.deadline <= now:
                    self._drop(sock) if held.answered else self._answer_and_linger(sock)

    def _readable(self, sock: socket.socket) -> None:
        held = self._held.get(sock)
        if held is None:
            return
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._drop(sock)
            return
        if held.answered:  # lingering until the client closes
            held.drained += len(data)
            if not data or held.drained > self._max_drain:
                self._drop(sock)
            return
        held.tail = held.tail[-3:] + data  # a CRLF CRLF may be split across two reads
        if not data or b"\r\n\r\n" in held.tail:
            self._answer_and_linger(sock)

    def _answer_and_linger(self, sock: socket.socket) -> None:
        try:
            sock.send(self._answer)  # a few hundred bytes into an empty buffer: never blocks
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(sock)
            return
        self._held[sock] = _Held(time.monotonic() + LINGER_S, answered=True)

    def _drop(self, sock: socket.socket) -> None:
        self._held.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        sock.close()


def _drain(sock: socket.socket, max_bytes: int) -> None:
    """Half-close, then read and drop what the client still sends (see LINGER_S)."""
    end = time.monotonic() + LINGER_S
    try:
        sock.shutdown(socket.SHUT_WR)
        while max_bytes > 0 and (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                return
            max_bytes -= len(data)
    except OSError:  # timed out, or reset: close anyway
        pass


def _refusal(max_connections: int, retry_after_s: int) -> bytes:
    status = status_pb2.Status(
        code=_CODE[503],
        message=f"otelcap has {max_connections} HTTP connections open, its limit "
        f"(http_max_connections); retry in {retry_after_s} s",
    )
    body = to_json(status)
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {JSON}\r\nContent-Length: {len(body)}\r\n"
        f"Retry-After: {retry_after_s}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # TIME_WAIT sockets from a previous run must not block a restart
    request_queue_size = 128

    def __init__(
        self,
        addr: tuple[str, int],
        handler: Any,
        sink: Sink,
        config: Config,
        metrics: Registry,
        health: Callable[[], bool],
    ) -> None:
        self.sink = sink
        self.config = config
        self.metrics = metrics
        self.health = health
        self.in_flight = 0  # POSTs being handled; stop() waits for them to answer
        self.in_flight_lock = threading.Lock()
        self.connections = 0  # connections with a thread of their own
        self.connections_lock = threading.Lock()
        super().__init__(addr, handler)
        # Retry-After 1 s: OTLP exporters wait that long, then retry within their 10 s export
        # timeout; the JS exporter gives up when Retry-After would overrun it.
        self.refuser = _Refuser(_refusal(config.http_max_connections, 1), config.max_body_bytes)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            admitted = self.connections < self.config.http_max_connections
            if admitted:
                self.connections += 1
        if not admitted:
            self.metrics.inc("otelcap_http_connections_refused_total")
            self.refuser.refuse(request)
            return
        try:
            super().process_request(request, client_address)  # starts its thread
        except BaseException:
            with self.connections_lock:
                self.connections -= 1
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections -= 1


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: SDK exporters reuse their connection
    server_version = "otelcap"

    # --- connection ----------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by a reader with a deadline (the socket stays open)
        self._deadline = _Deadline(self.connection)
        # The first request must arrive whole within the read timeout of the connect.
        self._deadline.at = time.monotonic() + self.server.config.http_read_timeout_s
        self._reader = io.BufferedReader(self._deadline)
        self.rfile = self._reader
        self._requests = 0
        self._linger = False  # set when closing with the request not read in full

    def finish(self) -> None:
        super().finish()
        if self._linger:
            _drain(self.connection, self.server.config.max_body_bytes)

    def handle_one_request(self) -> None:
        cfg = self.server.config
        if self._requests:  # kept alive: the next request may take the idle timeout to start
            self._deadline.at = time.monotonic() + cfg.http_idle_timeout_s
            try:
                started = bool(self._reader.peek(1))
            except OSError:  # idle for too long (TimeoutError), or reset by the client
                started = False
            if not started:
                self.close_connection = True
                return
            self._deadline.at = time.monotonic() + cfg.http_read_timeout_s
        self._requests += 1
        super().handle_one_request()  # a TimeoutError reading the head closes the connection

    def send_response(self, code: int, message: str | None = None) -> None:
        # Writes get the read timeout too: a client that stops reading its answer is dropped.
        self.connection.settimeout(self.server.config.http_read_timeout_s)
        super().send_response(code, message)

    def log_message(self, format: str, *args: Any) -> None:
        # Percent-escapes decoded so the log's secret masks see what they mask (an email as
        # jane%40example.com), then control characters escaped, then cut to a bounded length.
        line = urllib.parse.unquote(format % args, errors="backslashreplace")
        line = line.translate(_LOG_CONTROL)
        if len(line) > _LOG_LINE_MAX:
            # Cut after a separator, so no key is left too short for its pattern to mask it.
            head = line[:_LOG_LINE_MAX]
            head = head[: max(map(head.rfind, " /?&=;,")) + 1] or head
            line = f"{head}… ({len(line) - len(head)} characters cut)"
        log.debug("%s %s", self.address_string(), line)

    # --- responses -----------------------------------------------------------------------

    def _send(
        self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(
        self, code: int, message: str, ctype: str = JSON, headers: dict[str, str] | None = None
    ) -> None:
        status = status_pb2.Status(code=_CODE.get(code, 2), message=message)
        if ctype == PROTOBUF:
            self._send(code, status.SerializeToString(), PROTOBUF, headers)
        else:
            self._send(code, to_json(status), JSON, headers)

    # --- methods -------------------------------------------------------------------------

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _not_post(self) -> None:
        if self._path() in PATHS:
            self.close_connection = True  # a body may follow that we will not read
            self._error(405, f"{self.command} is not allowed on {self._path()}; use POST",
                        headers={"Allow": "POST"})  # fmt: skip
        else:
            self._error(404, f"no such path {self._path()}; OTLP/HTTP paths are "
                        "/v1/logs, /v1/metrics and /v1/traces")  # fmt: skip

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_post

    def do_GET(self) -> None:
        path = self._path()
        if path == "/healthz":
            # Ready only while the writer runs and its last commit succeeded.
            ok = self.server.health()
            body = b'{"status":"ok"}' if ok else b'{"status":"unavailable"}'
            self._send(200 if ok else 503, body, JSON)
        elif path == "/metrics":
            text = self.server.metrics.render().encode()
            self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._not_post()

    def do_POST(self) -> None:
        srv = self.server
        with srv.in_flight_lock:
            srv.in_flight += 1
        try:
            self._post()
        finally:
            with srv.in_flight_lock:
                srv.in_flight -= 1

    def _post(self) -> None:
        signal = PATHS.get(self._path())
        if signal is None:
            self.close_connection = self._linger = True  # its body is not read
            self._error(404, f"no such path {self._path()}; OTLP/HTTP paths are "
                        "/v1/logs, /v1/metrics and /v1/traces")  # fmt: skip
            return
        ctype = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype not in (PROTOBUF, JSON):
            self.close_connection = self._linger = True
            self._error(415, f"unsupported Content-Type {ctype!r}; "
                        f"use {PROTOBUF} or {JSON}")  # fmt: skip
            return
        cfg = self.server.config
        protocol = "http/json" if ctype == JSON else "http/protobuf"
        try:
            wire = self._read_body(cfg.max_body_bytes)
        except (_Unframed, PayloadTooLarge, OSError) as exc:
            self._unread(exc, signal, protocol, ctype)
            return
        try:
            body = decompress(
                wire,
                self.headers.get("Content-Encoding", ""),
                cfg.max_body_bytes,
                cfg.max_decompression_ratio,
            )
            with self.server.sink.hold(len(body)):  # bytes in flight, JSON parsing included
                if ctype == JSON:  # the model reads protobuf bytes; JSON is rare and small
                    body = parse_json(signal, body).SerializeToString()
                result = self.server.sink(signal, body)
        except Exception as exc:
            code, outcome, headers = _status_for(exc)
            count_request(self.server.metrics, signal, protocol, outcome)
            if code == 500:  # a bug of ours: say so, keep serving
                log.exception("unexpected error handling %s", self._path()[:_LOG_LINE_MAX])
            # The body was read in full, so the connection stays as the client asked.
            self._error(code, str(exc) if code != 500 else f"internal error: {exc}", ctype,
                        headers)  # fmt: skip
            return
        count_request(self.server.metrics, signal, protocol, "ok", result)
        resp = response(signal, result.rejected, result.reason)
        if ctype == PROTOBUF:
            self._send(200, resp.SerializeToString(), PROTOBUF)
        else:
            self._send(200, to_json(resp), JSON)

    def _unread(self, exc: Exception, signal: str, protocol: str, ctype: str) -> None:
        """The body could not be read in full: answer if the client can still hear it, and
        close, since what follows on the connection is not the start of a request."""
        self.close_connection = True
        self._linger = True
        if isinstance(exc, _Unframed):
            code, outcome, message = exc.status, "invalid", str(exc)
        elif isinstance(exc, PayloadTooLarge):
            code, outcome, message = 413, "too_large", str(exc)
        elif isinstance(exc, TimeoutError):
            # 408, not a retryable 503: the exporter that sent it has given up by now (OTLP
            # exporters time out an export after 10 s), and the Python SDK retries 408.
            timeout = self.server.config.http_read_timeout_s
            code, outcome = 408, "timeout"
            message = (
                f"the request did not arrive within {timeout} s (http_read_timeout_s); "
                "send it again"
            )
        else:  # reset or closed by the client: nobody to answer
            count_request(self.server.metrics, signal, protocol, "disconnected")
            return
        count_request(self.server.metrics, signal, protocol, outcome)
        self._error(code, message, ctype)

    def _read_body(self, limit: int) -> bytes:
        """The body, delimited by Content-Length or chunked encoding. Anything else raises
        _Unframed: a body without either would be read as the next request (HTTP/1.1) or
        to the close (HTTP/1.0), and reading nothing would answer success for bytes unread."""
        codings = [
            c.strip().lower()
            for v in self.headers.get_all("Transfer-Encoding") or []
            for c in v.split(",")
        ]
        lengths = self.headers.get_all("Content-Length") or []
        if codings:
            if lengths:  # two framings: the request smuggling case (RFC 9112 6.3)
                raise _Unframed(400, "both Content-Length and Transfer-Encoding were sent; "
                                "send only one")  # fmt: skip
            if codings[-1] != "chunked":
                raise _Unframed(400, f"Transfer-Encoding {', '.join(codings)!r} does not end "
                                "in chunked, so the body's end is unknown; send Content-Length "
                                "or Transfer-Encoding: chunked")  # fmt: skip
            if codings != ["chunked"]:
                raise _Unframed(501, f"Transfer-Encoding {', '.join(codings)!r} is not "
                                "supported; send chunked alone and compress with "
                                "Content-Encoding: gzip")  # fmt: skip
            return self._read_chunked(limit)
        if not lengths:
            raise _Unframed(411, "Content-Length is required: send the body with "
                            "Content-Length or Transfer-Encoding: chunked")  # fmt: skip
        values = {v.strip() for header in lengths for v in header.split(",")}
        text = next(iter(values))
        if len(values) != 1 or not _LENGTH.fullmatch(text):
            raise _Unframed(400, f"Content-Length {', '.join(lengths)!r} is not one whole "
                            "number of bytes")  # fmt: skip
        length = int(text)
        if length > limit:
            raise PayloadTooLarge(f"body is {length} bytes; the limit is {limit}")
        data = self.rfile.read(length)
        if len(data) != length:
            raise _Unframed(400, f"the body ended after {len(data)} of the {length} bytes "
                            "its Content-Length announced")  # fmt: skip
        return data

    def _read_chunked(self, limit: int) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            m = _CHUNK_LINE.fullmatch(line)
            if m is None:
                raise _Unframed(400, f"malformed chunked body: chunk size line {line[:40]!r} "
                                "is not a hexadecimal size")  # fmt: skip
            size = int(m.group(1), 16)
            if size == 0:
                for _ in range(_MAX_TRAILERS):
                    trailer = self.rfile.readline(1024)
                    if trailer in (b"\r\n", b"\n"):
                        return bytes(out)
                    if not trailer:
                        break
                raise _Unframed(400, "malformed chunked body: no empty line after the last "
                                f"chunk (within {_MAX_TRAILERS} trailer lines)")  # fmt: skip
            if len(out) + size > limit:
                raise PayloadTooLarge(f"chunked body exceeds the limit of {limit} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Unframed(400, "malformed chunked body: a chunk is shorter than its "
                                "size or not followed by CRLF")  # fmt: skip
            out += chunk


class HttpReceiver:
    def __init__(
        self, config: Config, sink: Sink, metrics: Registry, health: Callable[[], bool]
    ) -> None:
        try:
            self._server = _Server(
                (config.host, config.http_port), _Handler, sink, config, metrics, health
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot listen for HTTP on {config.host}:{config.http_port}: {exc.strerror}. "
                "Stop the other program or pass --http-port (0 picks a free port)."
            ) from None
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="otelcap-http", daemon=True
        )
        metrics.gauge(
            "otelcap_http_connections", "HTTP connections open (each holds a thread).",
            lambda: self._server.connections,
        )  # fmt: skip
        metrics.counter(
            "otelcap_http_connections_refused_total",
            "HTTP connections answered 503 because http_max_connections were open.",
        )

    def start(self) -> None:
        self._server.refuser.start()
        self._thread.start()

    def stop_accepting(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.refuser.stop()

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Wait until every POST in progress has answered (they wait on their commit)."""
        deadline = time.monotonic() + timeout_s
        while self._server.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
