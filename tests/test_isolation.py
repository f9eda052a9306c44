"""Request isolation and the limits that protect it (issue 11: defects 1, 2, 5 and 6).

A request's answer depends on that request alone: a poison request (nested too deep, or one
whose rows the store or the sanitizer cannot take) fails alone while valid requests from
other clients, converted and committed with it, are stored exactly once. Deep nesting is a
400 on every transport, gRPC has HTTP's decompression caps, and the bytes in flight are
bounded with retryable answers. Everything runs over real sockets against the real Service
and a real DuckDB file.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import grpc
import pyarrow as pa
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

import recordings
from conftest import make_config
from otelcap.model.anyvalue import MAX_DEPTH
from otelcap.service import Service
from otelcap.storage.duckdb import DuckDBStore

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
METRIC_TABLES = ("sum", "gauge", "histogram", "exponential_histogram", "summary")
STORE_MARKER = "otelcap.test.unstorable"  # a resource attribute the test store refuses
SANITIZE_MARKER = "otelcap.test.sanitizer_trips"  # a log attribute the test sanitizer fails on


# --- clients ---------------------------------------------------------------------------------


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, dict]:
    """(status, error message or '', lower-cased headers) of one HTTP POST."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    message = ""
    if resp.status != 200:
        if hdrs.get("content-type") == "application/x-protobuf":
            message = status_pb2.Status.FromString(data).message
        else:
            message = json.loads(data)["message"]
    return resp.status, message, hdrs


def _export(
    channel: grpc.Channel, signal: str, body: bytes, compression: Any = None
) -> tuple[grpc.StatusCode, str]:
    try:
        channel.unary_unary(recordings.GRPC_METHOD[signal])(
            body, timeout=60, compression=compression
        )
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def _send(svc: Service, channel: grpc.Channel, req: recordings.Request) -> str:
    """Send a recorded request the way it was recorded: 'ok', or the error code."""
    if req.protocol == "grpc":
        compression = grpc.Compression.Gzip if req.grpc_compressed else None
        code, _ = _export(channel, req.signal, req.body, compression)
        return "ok" if code is grpc.StatusCode.OK else code.name
    headers = {"Content-Type": req.headers.get("Content-Type", PB["Content-Type"])}
    body = req.body
    if req.headers.get("Content-Encoding") == "gzip":
        headers["Content-Encoding"] = "gzip"
        body = req.wire if req.wire is not req.body else gzip.compress(req.body)
    status, _, _ = _post(svc.endpoints.http_port, f"/v1/{req.signal}", body, headers)
    return "ok" if status == 200 else str(status)


# --- requests --------------------------------------------------------------------------------


def _len(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _len(number << 3 | 2) + _len(len(payload)) + payload


def _deep_value(levels: int, kind: str = "kvlist") -> bytes:
    """A serialized AnyValue `levels` deep: a string inside levels - 1 kvlists (or arrays).
    Built as bytes: protobuf's Python API cannot build what it cannot parse."""
    value = _field(1, b"leaf")  # AnyValue.string_value
    for _ in range(levels - 1):
        if kind == "kvlist":  # AnyValue.kvlist_value → KeyValueList.values → KeyValue
            value = _field(6, _field(1, _field(1, b"k") + _field(2, value)))
        else:  # AnyValue.array_value → ArrayValue.values
            value = _field(5, _field(1, value))
    return value


def _deep_logs(levels: int, kind: str = "kvlist") -> bytes:
    """An ExportLogsServiceRequest of one record whose body nests `levels` deep."""
    record = _field(5, _deep_value(levels, kind)) + b"\x09" + (1).to_bytes(8, "little")
    return _field(1, _field(2, _field(2, record)))  # resource_logs.scope_logs.log_records


def _deep_json(levels: int, kind: str = "kvlist") -> bytes:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(levels - 1):
        if kind == "kvlist":
            value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
        else:
            value = {"arrayValue": {"values": [value]}}
    record = {"timeUnixNano": "1", "body": value}
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode()


def _marked_logs(resource_key: str = "", record_key: str = "", body: str = "x") -> bytes:
    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    if resource_key:
        rl.resource.attributes.add(key=resource_key).value.string_value = "1"
    rec = rl.scope_logs.add().log_records.add(time_unix_nano=1)
    rec.body.string_value = body
    if record_key:
        rec.attributes.add(key=record_key).value.string_value = "1"
    return req.SerializeToString()


# --- real parts with a fault ----------------------------------------------------------------


def _map_keys(batch: pa.RecordBatch, column: str) -> list[str]:
    return batch.column(column).keys.to_pylist()  # type: ignore[no-any-return]


class _RefusingStore(DuckDBStore):
    """A real DuckDB store that refuses every transaction holding a record with the
    STORE_MARKER resource attribute (as a database refuses a value it cannot hold), and every
    transaction while `outage` is set (as a full disk would)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.outage = threading.Event()
        self.refused = 0

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        if self.outage.is_set():
            self.refused += 1
            raise OSError("No space left on device")
        for batch in batches.get("otel_logs", []):
            if STORE_MARKER in _map_keys(batch, "ResourceAttributes"):
                self.refused += 1
                raise ValueError(f"cannot store a record carrying {STORE_MARKER}")
        super().append(batches)


class _TrippingSanitizer:
    """The service's sanitizer, with a bug that a record carrying SANITIZE_MARKER trips."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def sanitize(self, batches: dict[str, pa.RecordBatch]) -> dict[str, pa.RecordBatch]:
        logs = batches.get("otel_logs")
        if logs is not None and SANITIZE_MARKER in _map_keys(logs, "LogAttributes"):
            raise KeyError(SANITIZE_MARKER)
        return self.inner.sanitize(batches)


@pytest.fixture
def faulty_service(tmp_path: Path) -> Iterator[tuple[Service, _RefusingStore]]:
    cfg = make_config(tmp_path)
    store = _RefusingStore(cfg.database)
    svc = Service(cfg, store=store)
    svc._ingest.sanitizer = _TrippingSanitizer(svc._ingest.sanitizer)  # type: ignore[assignment]
    svc.start()
    yield svc, store
    svc.stop()


def _row_counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:

        def count(sql: str) -> int:
            return int(con.execute(sql).fetchone()[0])  # type: ignore[index]

        return {
            "logs": count("SELECT count(*) FROM otel_logs"),
            "traces": count("SELECT count(*) FROM otel_traces"),
            "metrics": sum(count(f"SELECT count(*) FROM otel_metrics_{t}") for t in METRIC_TABLES),
            "marked": count(
                "SELECT count(*) FROM otel_logs WHERE "
                f"map_contains(ResourceAttributes, '{STORE_MARKER}') "
                f"OR map_contains(LogAttributes, '{SANITIZE_MARKER}')"
            ),
        }


# --- 1. a poison request fails alone -----------------------------------------------------------

VALID = {
    "grpc": recordings.load("tools-grpc") + recordings.load("gzip-grpc"),
    "http-protobuf": recordings.load("tools-http-protobuf") + recordings.load("gzip-http-protobuf"),
    "http-json": recordings.load("tools-http-json") + recordings.load("gzip-http-json"),
}


def test_poison_requests_fail_alone_and_every_acknowledged_record_is_stored_once(
    faulty_service: tuple[Service, _RefusingStore],
) -> None:
    """Six clients send valid recorded requests over gRPC, HTTP/protobuf and HTTP/JSON while a
    seventh sends poison: AnyValues 200 deep (protobuf, gRPC, JSON), a record the store
    refuses, and one the sanitizer trips on. Valid requests are all stored, exactly once;
    each poison request gets its own answer. Then, in a store outage, every request is told
    to retry and nothing is stored."""
    svc, store = faulty_service
    port = svc.endpoints.http_port
    target = f"127.0.0.1:{svc.endpoints.grpc_port}"
    deep_pb, deep_js = _deep_logs(200), _deep_json(200)
    unstorable = _marked_logs(resource_key=STORE_MARKER)
    tripping = _marked_logs(record_key=SANITIZE_MARKER)
    answers: dict[str, list[str]] = {"valid": [], "deep": [], "store": [], "sanitize": []}
    acked = {"logs": 0, "traces": 0, "metrics": 0}
    lock = threading.Lock()
    valid_done = threading.Event()
    start = threading.Barrier(7)

    def valid_client(protocol: str) -> None:
        with grpc.insecure_channel(target) as ch:
            start.wait()
            for _ in range(2):
                for req in VALID[protocol]:
                    outcome = _send(svc, ch, req)
                    with lock:
                        answers["valid"].append(f"{protocol}:{outcome}")
                        if outcome == "ok":
                            acked[req.signal] += req.items

    def poison_client() -> None:
        with grpc.insecure_channel(target) as ch:
            start.wait()
            while not valid_done.is_set():
                for kind, send in (
                    ("deep", lambda: _post(port, "/v1/logs", deep_pb, PB)),
                    ("deep", lambda: _export(ch, "logs", deep_pb)),
                    ("deep", lambda: _post(port, "/v1/logs", deep_js, JS)),
                    ("store", lambda: _post(port, "/v1/logs", unstorable, PB)),
                    ("store", lambda: _export(ch, "logs", unstorable)),
                    ("sanitize", lambda: _post(port, "/v1/logs", tripping, PB)),
                ):
                    code, message = send()[:2]
                    code = code.name if isinstance(code, grpc.StatusCode) else code
                    with lock:
                        answers[kind].append(f"{code}:{message}")

    clients = [threading.Thread(target=valid_client, args=(p,)) for p in VALID for _ in (0, 1)]
    poison = threading.Thread(target=poison_client)
    for t in [*clients, poison]:
        t.start()
    for t in clients:
        t.join(120)
    valid_done.set()
    poison.join(60)

    assert answers["valid"] and all(a.endswith(":ok") for a in answers["valid"]), [
        a for a in answers["valid"] if not a.endswith(":ok")
    ]
    assert svc._ingest.grouped_requests > svc._ingest.groups  # rounds did carry several
    assert answers["deep"] and all(
        a.split(":", 1)[0] in ("400", "INVALID_ARGUMENT") and f"limit is {MAX_DEPTH}" in a
        for a in answers["deep"]
    ), answers["deep"]
    # The store refuses this request whatever it is grouped with: otelcap cannot tell that
    # from a database that would take it later, so it is told to retry.
    assert answers["store"] and all(
        a.split(":", 1)[0] in ("503", "UNAVAILABLE") for a in answers["store"]
    ), answers["store"]
    assert answers["sanitize"] and all(
        not a.startswith(("200", "OK")) for a in answers["sanitize"]
    ), answers["sanitize"]

    # A store outage: every request gets a retryable answer, nothing is kept.
    store.outage.set()
    outage: list[str] = []
    with grpc.insecure_channel(target) as ch:
        threads = [
            threading.Thread(target=lambda r=r: outage.append(_send(svc, ch, r)))
            for reqs in VALID.values()
            for r in reqs[:6]
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert len(outage) == 18 and set(outage) <= {"503", "UNAVAILABLE"}, outage
    store.outage.clear()

    db = svc.config.database
    svc.stop()
    assert _row_counts(db) == {**acked, "marked": 0}


# --- 2. deep nesting is a 400 on every transport ----------------------------------------------


def test_deep_nesting_gets_400_naming_the_limit_on_every_transport(server: Service) -> None:
    port = server.endpoints.http_port
    stored = 0
    with grpc.insecure_channel(f"127.0.0.1:{server.endpoints.grpc_port}") as ch:
        for kind in ("kvlist", "array"):
            # The limit itself is accepted, over each transport ...
            for send in (
                lambda k=kind: _post(port, "/v1/logs", _deep_logs(MAX_DEPTH, k), PB)[0],
                lambda k=kind: _post(port, "/v1/logs", _deep_json(MAX_DEPTH, k), JS)[0],
                lambda k=kind: _export(ch, "logs", _deep_logs(MAX_DEPTH, k))[0],
            ):
                assert send() in (200, grpc.StatusCode.OK), kind
                stored += 1
            # ... one level more, and the 200, are refused with the limit named.
            for levels in (MAX_DEPTH + 1, 200):
                for status, message in (
                    _post(port, "/v1/logs", _deep_logs(levels, kind), PB)[:2],
                    _post(port, "/v1/logs", _deep_json(levels, kind), JS)[:2],
                    _export(ch, "logs", _deep_logs(levels, kind)),
                ):
                    assert status in (400, grpc.StatusCode.INVALID_ARGUMENT), (levels, message)
                    assert f"the nesting limit is {MAX_DEPTH}" in message
        # JSON nested past what Python's parser can recurse into (the 1,200).
        status, message, _ = _post(port, "/v1/logs", b"[" * 1200 + b"]" * 1200, JS)
        assert status == 400 and f"at most {MAX_DEPTH} levels" in message
        deep_unknown = b'{"resourceLogs": [], "x": ' + b"[" * 1200 + b"]" * 1200 + b"}"
        status, message, _ = _post(port, "/v1/logs", deep_unknown, JS)
        assert status == 400 and f"at most {MAX_DEPTH} levels" in message
    bodies = [r["Body"] for r in server.store.query("SELECT Body FROM otel_logs").to_pylist()]
    assert len(bodies) == stored
    kvlist = bodies[0]
    assert kvlist.count('{"k":') == MAX_DEPTH - 1 and '"leaf"' in kvlist


# --- 5. gRPC applies HTTP's decompression caps -------------------------------------------------


def test_grpc_refuses_a_compression_bomb_and_stores_normal_gzip(server_factory: Any) -> None:
    svc = server_factory()
    # A valid logs request whose 8 MiB body compresses ~1,000x: over the 200x ratio cap.
    bomb = _marked_logs(body="a" * (8 << 20))
    assert len(gzip.compress(bomb)) * 200 < len(bomb)
    with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:
        for compression in (grpc.Compression.Gzip, grpc.Compression.Deflate):
            code, message = _export(ch, "logs", bomb, compression)
            assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, (compression, code, message)
            assert "ratio" in message
        status, message, _ = _post(
            svc.endpoints.http_port, "/v1/logs", gzip.compress(bomb),
            {**PB, "Content-Encoding": "gzip"},
        )  # fmt: skip
        assert status == 413 and "ratio" in message  # the same answer as over HTTP
        # Under the cap, compressed either way or not at all, requests are stored.
        fine = _marked_logs(body="claude_code.tool_result " * 200)
        assert len(fine) < 150 * len(zlib.compress(fine))
        for compression in (grpc.Compression.Gzip, grpc.Compression.Deflate, None):
            assert _export(ch, "logs", fine, compression) == (grpc.StatusCode.OK, "")
        # Claude Code's own gzip gRPC requests.
        recorded = recordings.load("gzip-grpc")
        assert any(r.grpc_compressed for r in recorded)
        for req in recorded:
            assert _send(svc, ch, req) == "ok"
    db = svc.config.database
    svc.stop()
    counts = _row_counts(db)
    assert counts["logs"] == 3 + sum(r.items for r in recorded if r.signal == "logs")
    assert counts["traces"] == sum(r.items for r in recorded if r.signal == "traces")


# --- 6. the bytes in flight are bounded ------------------------------------------------------


class _GatedStore(DuckDBStore):
    """A real DuckDB store whose commits wait for a gate: requests stay in flight."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()

    def append(self, batches: Any) -> None:
        self.gate.wait(60)
        super().append(batches)


def test_bytes_in_flight_past_the_budget_get_retryable_answers(tmp_path: Path) -> None:
    """With 500 KB allowed in flight and the database holding every commit, two 200 KB
    requests are taken and the rest, over HTTP and gRPC, are told to retry; once the
    database commits, the retries are taken and every request is stored once."""
    bodies = [_marked_logs(body=f"{i:04d}" + "x" * 200_000) for i in range(6)]
    cfg = make_config(tmp_path, max_inflight_bytes=500_000)
    store = _GatedStore(cfg.database)
    svc = Service(cfg, store=store)
    svc.start()
    answers: list[str] = []
    refused: set[int] = set()  # clients told to retry at least once
    lock = threading.Lock()

    def client(i: int) -> None:
        body = bodies[i]
        with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if i % 2:
                    code, message = _export(ch, "logs", body)
                    retry_after = "1"
                else:
                    status, message, headers = _post(svc.endpoints.http_port, "/v1/logs", body, PB)
                    code, retry_after = status, headers.get("retry-after", "")
                with lock:
                    answers.append(f"{getattr(code, 'name', code)}:{retry_after}:{message}")
                    if code in (200, grpc.StatusCode.OK):
                        return
                    refused.add(i)
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the 4 not taken were refused
            with lock:
                if len(refused) == 4 and svc._ingest.inflight_bytes == 2 * len(bodies[0]):
                    break
            time.sleep(0.05)
        else:
            pytest.fail(f"expected 2 requests taken and 4 told to retry: {answers}")
        store.gate.set()
        for t in threads:
            t.join(60)
    finally:
        store.gate.set()
        svc.stop()
    kinds = {a.split(":", 1)[0] for a in answers}
    assert kinds == {"200", "OK", "503", "UNAVAILABLE"}, answers
    refusals = [a for a in answers if a.startswith(("503", "UNAVAILABLE"))]
    assert all(":1:" in a and "max_inflight_bytes" in a for a in refusals), [
        a for a in refusals if not (":1:" in a and "max_inflight_bytes" in a)
    ]
    with duckdb.connect(str(cfg.database), read_only=True) as con:
        stored = [r[0][:4] for r in con.execute("SELECT Body FROM otel_logs").fetchall()]
    assert sorted(stored) == [f"{i:04d}" for i in range(6)]


def test_a_request_over_the_budget_is_taken_when_nothing_else_is_in_flight(
    server_factory: Any,
) -> None:
    svc = server_factory(max_inflight_bytes=10_000)
    body = _marked_logs(body="y" * 300_000)
    doc = json.dumps(
        {
            "resourceLogs": [
                {"scopeLogs": [{"logRecords": [{"body": {"stringValue": "z" * 300_000}}]}]}
            ]
        }
    ).encode()
    assert _post(svc.endpoints.http_port, "/v1/logs", body, PB)[0] == 200
    assert _post(svc.endpoints.http_port, "/v1/logs", doc, JS)[0] == 200
    with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:
        assert _export(ch, "logs", body) == (grpc.StatusCode.OK, "")
    assert svc._ingest.inflight_bytes == 0
    n = svc.store.query("SELECT count(*) AS n FROM otel_logs").column("n")[0].as_py()
    assert n == 3


def test_max_inflight_bytes_has_an_environment_variable(tmp_path: Path) -> None:
    from otelcap import config

    cfg = config.load(env={"OTELCAP_MAX_INFLIGHT_BYTES": "12345"}, config_file=tmp_path / "x")
    assert cfg.max_inflight_bytes == 12345
    assert config.load(env={}, config_file=tmp_path / "x").max_inflight_bytes == 16 << 20


# --- 6. gRPC: bounded calls, and connections that cannot hold a worker forever ------------------


def _never_sends(stop: threading.Event) -> Iterator[bytes]:
    """A request stream that never delivers its message: a client stuck mid-request."""
    stop.wait(120)
    yield from ()


def test_grpc_bounds_calls_in_progress(server_factory: Any) -> None:
    from otelcap.receiver import grpc as grpc_receiver

    svc = server_factory(grpc_workers=1)  # so at most CALLS_PER_WORKER calls at once
    stop = threading.Event()
    with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:
        stuck_call = ch.stream_unary(recordings.GRPC_METHOD["logs"])
        stuck = [
            stuck_call.future(_never_sends(stop)) for _ in range(grpc_receiver.CALLS_PER_WORKER)
        ]
        try:
            time.sleep(0.5)  # the server has seen them
            code, message = _export(ch, "logs", _marked_logs())
            assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, (code, message)
        finally:
            stop.set()
            for f in stuck:
                f.cancel()
        for _ in range(100):  # the cancelled calls give their worker back
            if _export(ch, "logs", _marked_logs())[0] is grpc.StatusCode.OK:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the gRPC receiver did not recover after the stuck calls ended")


def test_grpc_calls_waiting_for_their_commit_hold_no_worker(
    server_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With grpc_workers=1, a call waiting for its commit does not keep the next calls from
    being converted and queued: they wait in the pipeline and one flush carries them."""
    svc = server_factory(grpc_workers=1)  # at most CALLS_PER_WORKER (4) calls in progress
    entered, gate, flushed = threading.Event(), threading.Event(), []
    real_append = svc.store.append

    def gated_append(batches: dict[str, list[pa.RecordBatch]]) -> None:
        flushed.append(sum(b.num_rows for parts in batches.values() for b in parts))
        entered.set()
        gate.wait(60)  # the writer stays in the first flush until the test lets it go
        real_append(batches)

    monkeypatch.setattr(svc.store, "append", gated_append)
    codes: list[grpc.StatusCode] = []
    with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:

        def send(body: str) -> None:
            codes.append(_export(ch, "logs", _marked_logs(body=body))[0])

        first = threading.Thread(target=send, args=("first",))
        first.start()
        try:
            assert entered.wait(30), "the first request never reached the store"
            others = [threading.Thread(target=send, args=(b,)) for b in ("second", "third")]
            for t in others:
                t.start()
            for _ in range(300):  # converted and queued while the first call still waits
                if svc.pipeline.queued_rows == 2:
                    break
                time.sleep(0.1)
            else:
                pytest.fail(
                    f"{svc.pipeline.queued_rows} of 2 rows queued: calls waiting for a commit "
                    "hold the gRPC workers, so the calls behind them are not converted"
                )
        finally:
            gate.set()
        for t in [first, *others]:
            t.join(60)
    assert codes == [grpc.StatusCode.OK] * 3
    assert flushed == [1, 2]  # the two calls that waited together, in one transaction


def test_grpc_connections_are_closed_by_age_idleness_and_a_stalled_handshake(
    server_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otelcap.receiver import grpc as grpc_receiver

    monkeypatch.setattr(grpc_receiver, "AGE_GRACE_S", 1)
    monkeypatch.setattr(grpc_receiver, "HANDSHAKE_TIMEOUT_S", 1)
    svc = server_factory(grpc_max_connection_age_s=1, grpc_idle_timeout_s=1)
    target = f"127.0.0.1:{svc.endpoints.grpc_port}"
    stop = threading.Event()
    with grpc.insecure_channel(target) as ch:
        # A call whose message never comes no longer holds its worker for good.
        stuck = ch.stream_unary(recordings.GRPC_METHOD["logs"]).future(_never_sends(stop))
        try:
            err = stuck.exception(timeout=30)
        finally:
            stop.set()
            stuck.cancel()
        assert isinstance(err, grpc.RpcError) and err.code() is grpc.StatusCode.UNAVAILABLE
    # A connection left idle after an export is closed by the server.
    states: list[grpc.ChannelConnectivity] = []
    with grpc.insecure_channel(target) as ch:
        ch.subscribe(states.append)
        assert _export(ch, "logs", _marked_logs()) == (grpc.StatusCode.OK, "")
        ready = grpc.ChannelConnectivity.READY
        for _ in range(300):
            if ready in states and grpc.ChannelConnectivity.IDLE in states[states.index(ready) :]:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the idle connection was not closed: {states}")
    # A TCP connection that never starts HTTP/2 is closed.
    with socket.create_connection(("127.0.0.1", svc.endpoints.grpc_port), timeout=30) as sock:
        while sock.recv(4096):  # the server's SETTINGS, then the close
            pass
