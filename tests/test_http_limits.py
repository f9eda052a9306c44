"""The HTTP receiver over raw sockets: a body whose length cannot be known is refused and the
connection closed (never 200 for bytes not read), connections and their threads are bounded,
and slow or idle clients are disconnected by read and idle timeouts.

Every wait here is bounded by a socket timeout: a test fails when an answer does not come,
it never asserts how fast one came."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
from google.rpc import status_pb2

import recordings
from otelcap.service import Service

LOG_REQ = next(r for r in recordings.load("tools-http-protobuf") if r.signal == "logs")
WAIT_S = 5.0  # how long a test waits for an answer before it fails


def _logs_count(svc: Service) -> int:
    return int(svc.store.query("SELECT count(*) AS n FROM otel_logs").column("n")[0].as_py())


def _connect(svc: Service) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", svc.endpoints.http_port), timeout=WAIT_S)
    sock.settimeout(WAIT_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; fails the test if it does not close."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # closed with bytes of ours unread: also a close
            return data
        except TimeoutError:
            pytest.fail(f"the server did not close within {WAIT_S} s; it sent {data[:300]!r}")
        if not chunk:
            return data
        data += chunk


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    assert raw, "the server closed without answering"
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return status, headers, body[: int(headers.get("content-length", len(body)))]


def _exchange(svc: Service, request: bytes, half_close: bool = False) -> tuple[int, dict, bytes]:
    """Send raw bytes on a new connection; the answer, which must end with a close."""
    with _connect(svc) as sock:
        sock.sendall(request)
        if half_close:  # an HTTP/1.0 client marks the end of a body without a length so
            sock.shutdown(socket.SHUT_WR)
        return _parse(_read_until_closed(sock))


def _head(version: str, *extra: str, ctype: str = "application/json") -> bytes:
    lines = [f"POST /v1/logs HTTP/{version}", "Host: 127.0.0.1", f"Content-Type: {ctype}"]
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


# A valid OTLP/JSON body with one log record: stored if the server ever reads it.
ONE_LOG = json.dumps(
    {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "x"}}]}]}]}
).encode()


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_a_body_without_length_gets_411_and_nothing_is_stored(
    server: Service, version: str
) -> None:
    # Protobuf: before this was refused, the empty read parsed as an empty export and got 200.
    request = _head(version, ctype="application/x-protobuf") + LOG_REQ.body
    status, headers, body = _exchange(server, request, half_close=True)
    assert status == 411, body
    assert "Content-Length" in status_pb2.Status.FromString(body).message
    assert headers["connection"] == "close"
    # An empty body with Content-Length: 0 is an empty export: nothing to store, success,
    # as the OTLP specification answers a request that carries no telemetry.
    with _connect(server) as sock:
        sock.sendall(_head(version, "Content-Length: 0", ctype="application/x-protobuf"))
        status, _, _ = _parse(sock.recv(65536))
    assert status == 200
    assert _logs_count(server) == 0


@pytest.mark.parametrize(
    "framing",
    [
        ["Content-Length: -1"],
        ["Content-Length: 12abc"],
        ["Content-Length: 1,2"],
        ["Content-Length: +5"],
        ["Content-Length: 0x10"],
        ["Content-Length: 5", "Content-Length: 7"],
        [f"Content-Length: {len(ONE_LOG)}", "Transfer-Encoding: chunked"],
        ["Transfer-Encoding: gzip"],
        ["Transfer-Encoding: chunked, gzip"],
    ],
    ids=lambda f: " / ".join(f),
)
def test_a_malformed_length_gets_400_at_once_and_the_connection_is_closed(
    server: Service, framing: list[str]
) -> None:
    # The body is sent but the connection left open: the server must not wait for more.
    status, headers, body = _exchange(server, _head("1.1", *framing) + ONE_LOG)
    assert status == 400, body
    message = json.loads(body)["message"]
    assert ("Content-Length" in message) or ("Transfer-Encoding" in message), message
    assert headers["connection"] == "close"
    assert _logs_count(server) == 0


def test_a_client_still_sending_its_body_reads_the_answer_not_a_reset(server: Service) -> None:
    # 4 MiB is more than the socket buffers hold: the server answers while bytes still
    # arrive, and must read them (up to the body limit) before it closes, or the client's
    # send fails with a reset before it reads the 400.
    with _connect(server) as sock:
        sock.sendall(_head("1.1", "Content-Length: -1") + b"x" * (4 << 20))
        status, _, body = _parse(_read_until_closed(sock))
    assert status == 400, body


def test_an_unsupported_transfer_coding_gets_501(server: Service) -> None:
    chunked = f"{len(ONE_LOG):x}\r\n".encode() + ONE_LOG + b"\r\n0\r\n\r\n"
    status, _, body = _exchange(server, _head("1.1", "Transfer-Encoding: gzip, chunked") + chunked)
    assert status == 501, body
    assert "gzip" in json.loads(body)["message"]
    assert _logs_count(server) == 0


def test_a_negative_chunk_size_gets_400_at_once(server: Service) -> None:
    status, _, body = _exchange(server, _head("1.1", "Transfer-Encoding: chunked") + b"-5\r\nabc")
    assert status == 400, body
    assert "chunk" in json.loads(body)["message"]


def _post_ok(svc: Service) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", svc.endpoints.http_port, timeout=WAIT_S)
    try:
        conn.request("POST", "/v1/logs", LOG_REQ.body, {"Content-Type": "application/x-protobuf"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_a_slowloris_client_is_closed_after_the_read_timeout_while_others_are_served(
    server_factory: Any,
) -> None:
    svc = server_factory(http_read_timeout_s=1)
    trickle = b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    sent: list[int] = []
    closed = threading.Event()

    def slowloris(sock: socket.socket) -> None:
        try:
            for i in range(len(trickle)):  # one byte every 0.1 s: 20 s if never cut off
                sock.send(trickle[i : i + 1])
                sent.append(i)
                if closed.wait(0.1):
                    return
        except OSError:  # the server closed the connection: what this test waits for
            pass

    with _connect(svc) as slow:
        thread = threading.Thread(target=slowloris, args=(slow,))
        thread.start()
        try:
            assert _post_ok(svc) == 200  # a normal client is served meanwhile
            assert _read_until_closed(slow) == b""  # cut off without an answer
        finally:
            closed.set()
            thread.join(WAIT_S)
    assert len(sent) < len(trickle)
    assert _logs_count(svc) == LOG_REQ.items


def test_a_body_that_stops_arriving_gets_408_and_a_close(server_factory: Any) -> None:
    svc = server_factory(http_read_timeout_s=1)
    with _connect(svc) as sock:
        sock.sendall(_head("1.1", f"Content-Length: {len(ONE_LOG)}") + ONE_LOG[:10])
        status, headers, body = _parse(_read_until_closed(sock))
    assert status == 408, body
    assert "1 s" in json.loads(body)["message"]
    assert headers["connection"] == "close"
    assert _logs_count(svc) == 0


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout(
    server_factory: Any,
) -> None:
    svc = server_factory(http_idle_timeout_s=1)
    pb = _head("1.1", f"Content-Length: {len(LOG_REQ.body)}", ctype="application/x-protobuf")
    with _connect(svc) as sock:
        for _ in range(2):  # kept alive between requests
            sock.sendall(pb + LOG_REQ.body)
            status, headers, _ = _parse(sock.recv(65536))
            assert status == 200
            assert headers.get("connection") != "close"
        assert _read_until_closed(sock) == b""  # then idle: closed
    assert _logs_count(svc) == 2 * LOG_REQ.items


def _threads_now() -> int:
    return threading.active_count()


def test_connections_past_the_bound_get_503_and_threads_stay_bounded(
    server_factory: Any,
) -> None:
    bound = 16
    svc = server_factory(http_max_connections=bound, http_read_timeout_s=30)
    before = _threads_now()
    idle = [_connect(svc) for _ in range(200)]
    try:
        # The first `bound` connections hold a thread each, waiting for a request; the rest are
        # answered 503 + Retry-After (a retryable OTLP answer) and closed.
        refused = 0
        for sock in idle[bound:]:
            status, headers, body = _parse(_read_until_closed(sock))
            assert status == 503, body
            assert int(headers["retry-after"]) >= 1
            assert "http_max_connections" in json.loads(body)["message"]
            refused += 1
        assert refused == 200 - bound
        grown = _threads_now() - before
        assert grown <= bound + 2, f"{grown} threads for {bound} admitted connections"
        # A client that sends its request on a refused connection also reads the answer.
        with _connect(svc) as sock:
            sock.sendall(_head("1.1", f"Content-Length: {len(ONE_LOG)}") + ONE_LOG)
            status, _, _ = _parse(_read_until_closed(sock))
        assert status == 503
    finally:
        for sock in idle:
            sock.close()
    # Once the idle connections are gone, their slots serve new clients.
    deadline = time.monotonic() + WAIT_S
    while True:
        status = _post_ok(svc)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200


def test_the_limits_are_settings_with_environment_variables(tmp_path: Any) -> None:
    from otelcap import config
    from otelcap.errors import ConfigError

    env = {
        "OTELCAP_HTTP_MAX_CONNECTIONS": "7",
        "OTELCAP_HTTP_READ_TIMEOUT_S": "3",
        "OTELCAP_HTTP_IDLE_TIMEOUT_S": "4",
    }
    cfg = config.load(env=env, config_file=tmp_path / "absent.toml")
    assert (cfg.http_max_connections, cfg.http_read_timeout_s, cfg.http_idle_timeout_s) == (7, 3, 4)
    defaults = config.load(env={}, config_file=tmp_path / "absent.toml")
    assert defaults.http_max_connections == 128
    assert (defaults.http_read_timeout_s, defaults.http_idle_timeout_s) == (10, 30)
    with pytest.raises(ConfigError, match="http_max_connections must be at least 1"):
        config.load(env={"OTELCAP_HTTP_MAX_CONNECTIONS": "0"}, config_file=tmp_path / "a.toml")
