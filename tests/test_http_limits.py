"""The HTTP receiver over raw sockets: a body whose length cannot be known is refused and the
connection closed (never 200 for bytes not read).

Every wait here is bounded by a socket timeout: a test fails when an answer does not come,
it never asserts how fast one came."""

from __future__ import annotations

import json
import socket

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
