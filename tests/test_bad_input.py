"""Bad input gets a clear OTLP error and disturbs nothing already accepted."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import zlib
from typing import Any

import duckdb
import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

import recordings
from otelcap.service import Service
from otelcap.storage.duckdb import DuckDBStore

LOGS = recordings.load("tools-http-protobuf")
LOG_REQ = next(r for r in LOGS if r.signal == "logs")


def _post(
    svc: Service, path: str, body: bytes, headers: dict[str, str], method: str = "POST"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", svc.endpoints.http_port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _logs_count(svc: Service) -> int:
    return int(svc.store.query("SELECT count(*) AS n FROM otel_logs").column("n")[0].as_py())


PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}


def test_good_request_then_every_bad_kind_then_good_again(server_factory: Any) -> None:
    svc = server_factory(max_body_bytes=64 * 1024, max_decompression_ratio=50)
    status, _, _ = _post(svc, "/v1/logs", LOG_REQ.body, PB)
    assert status == 200
    before = _logs_count(svc)
    assert before == LOG_REQ.items

    cases: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
        ("POST", "/v1/logs", b"\xff\xff\xff garbage", PB, 400, "not a valid OTLP logs protobuf"),
        ("POST", "/v1/logs", b"{not json", JS, 400, "not valid JSON"),
        ("POST", "/v1/logs", b"[1, 2]", JS, 400, "must be a JSON object"),
        ("POST", "/v1/logs", b'{"resourceLogs": 5}', JS, 400, "not a valid OTLP logs JSON"),
        ("POST", "/v1/logs", LOG_REQ.body, {"Content-Type": "text/plain"}, 415, "text/plain"),
        ("POST", "/v1/logs", b"x" * (65 * 1024), PB, 413, "limit"),
        ("POST", "/v1/logs", gzip.compress(b"\0" * (60 * 1024)),
         {**PB, "Content-Encoding": "gzip"}, 413, "ratio"),
        ("POST", "/v1/logs", b"not gzip", {**PB, "Content-Encoding": "gzip"}, 400, "gzip"),
        ("POST", "/v1/logs", LOG_REQ.body, {**PB, "Content-Encoding": "br"}, 400, "br"),
        ("POST", "/v1/nope", LOG_REQ.body, PB, 404, "/v1/logs"),
        ("GET", "/v1/logs", b"", {}, 405, "POST"),
        ("PUT", "/v1/metrics", b"", PB, 405, "POST"),
    ]  # fmt: skip
    for method, path, body, headers, want, text in cases:
        status, resp_headers, resp_body = _post(svc, path, body, headers, method)
        assert status == want, (path, headers, status, resp_body)
        if resp_headers.get("content-type") == "application/x-protobuf":
            message = status_pb2.Status.FromString(resp_body).message
        else:
            message = json.loads(resp_body)["message"]
        assert text in message, (want, message)
        if want == 405:
            assert resp_headers["allow"] == "POST"

    status, _, _ = _post(svc, "/v1/logs", LOG_REQ.body, PB)
    assert status == 200
    assert _logs_count(svc) == before + LOG_REQ.items


def test_deflate_and_chunked_bodies_are_accepted(server: Service) -> None:
    status, _, _ = _post(
        server, "/v1/logs", zlib.compress(LOG_REQ.body), {**PB, "Content-Encoding": "deflate"}
    )
    assert status == 200
    # chunked: http.client sends Transfer-Encoding: chunked for an iterable body
    conn = http.client.HTTPConnection("127.0.0.1", server.endpoints.http_port, timeout=30)
    chunks = [LOG_REQ.body[i : i + 1000] for i in range(0, len(LOG_REQ.body), 1000)]
    conn.request("POST", "/v1/logs", body=iter(chunks), headers=PB, encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    conn.close()
    assert _logs_count(server) == 2 * LOG_REQ.items


def test_json_mapping_hex_ids_int64_as_string_or_number_enums_as_ints(server: Service) -> None:
    doc = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1795817354016000000",
                                "severityNumber": 9,
                                "traceId": "bb2764ddae0313a963a67917c84f610b",
                                "spanId": "cfea4e8df3e8ffcd",
                                "body": {"stringValue": "claude_code.api_request"},
                                "attributes": [
                                    {"key": "input_tokens", "value": {"intValue": 9}},
                                    {"key": "output_tokens", "value": {"intValue": "62"}},
                                ],
                                "unknownFutureField": {"ignored": True},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    status, _, body = _post(server, "/v1/logs", json.dumps(doc).encode(), JS)
    assert status == 200, body
    assert json.loads(body) == {}
    row = server.store.query(
        "SELECT TraceId, SpanId, SeverityNumber, InputTokens, OutputTokens, EventName, "
        "epoch_ns(Timestamp) AS ts FROM otel_logs"
    ).to_pylist()
    assert row == [
        {
            "TraceId": "bb2764ddae0313a963a67917c84f610b",
            "SpanId": "cfea4e8df3e8ffcd",
            "SeverityNumber": 9,
            "InputTokens": 9,
            "OutputTokens": 62,
            "EventName": "api_request",
            "ts": 1795817354016000000,
        }
    ]


def test_partial_success_reports_rejected_spans(server: Service) -> None:
    req = trace_service_pb2.ExportTraceServiceRequest()
    spans = req.resource_spans.add().scope_spans.add().spans
    good = spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="good")
    good.start_time_unix_nano, good.end_time_unix_nano = 10, 25
    spans.add(trace_id=b"\x01" * 3, span_id=b"\x02" * 8, name="bad")
    status, _, body = _post(server, "/v1/traces", req.SerializeToString(), PB)
    assert status == 200
    resp = trace_service_pb2.ExportTraceServiceResponse.FromString(body)
    assert resp.partial_success.rejected_spans == 1
    assert "trace_id" in resp.partial_success.error_message
    rows = server.store.query("SELECT SpanName, Duration FROM otel_traces").to_pylist()
    assert rows == [{"SpanName": "good", "Duration": 15}]


def test_grpc_errors_use_otlp_status_codes(server_factory: Any) -> None:
    svc = server_factory(max_body_bytes=64 * 1024)
    with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:
        call = ch.unary_unary(recordings.GRPC_METHOD["logs"])
        with pytest.raises(grpc.RpcError) as bad:
            call(b"\xff\xff\xff garbage", timeout=10)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "protobuf" in bad.value.details()
        with pytest.raises(grpc.RpcError) as big:
            call(b"x" * (65 * 1024), timeout=10)
        assert big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        ok = logs_service_pb2.ExportLogsServiceResponse.FromString(
            call(LOG_REQ.body, timeout=10, compression=grpc.Compression.Gzip)
        )
        assert not ok.HasField("partial_success")
    assert _logs_count(svc) == LOG_REQ.items


class _GatedStore(DuckDBStore):
    """A real DuckDB store whose commits wait for a gate: lets a test fill the queue."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def append(self, batches: Any) -> None:
        self.entered.set()
        self.gate.wait(30)
        super().append(batches)


def test_full_queue_answers_retryable_codes_and_loses_nothing(tmp_path: Any) -> None:
    from conftest import make_config

    cfg = make_config(tmp_path, queue_max_rows=LOG_REQ.items, flush_rows=LOG_REQ.items)
    store = _GatedStore(str(cfg.database))
    svc = Service(cfg, store=store)
    svc.start()
    try:
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(_post(svc, "/v1/logs", LOG_REQ.body, PB)[0])
        )
        first.start()  # taken by the writer, which blocks on the gate
        assert store.entered.wait(30)
        second = threading.Thread(
            target=lambda: results.append(_post(svc, "/v1/logs", LOG_REQ.body, PB)[0])
        )
        second.start()  # sits in the queue, which is now full
        for _ in range(200):
            if svc.pipeline.queued_rows > 0:
                break
            threading.Event().wait(0.01)
        status, headers, _ = _post(svc, "/v1/logs", LOG_REQ.body, PB)
        assert status == 503
        assert int(headers["retry-after"]) >= 1
        with grpc.insecure_channel(f"127.0.0.1:{svc.endpoints.grpc_port}") as ch:
            with pytest.raises(grpc.RpcError) as full:
                ch.unary_unary(recordings.GRPC_METHOD["logs"])(LOG_REQ.body, timeout=10)
            assert full.value.code() == grpc.StatusCode.UNAVAILABLE
        store.gate.set()
        first.join(30)
        second.join(30)
        assert results == [200, 200]
    finally:
        store.gate.set()
        svc.stop()
    with duckdb.connect(str(cfg.database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM otel_logs").fetchone()[0] == 2 * LOG_REQ.items


def test_a_malformed_request_converted_in_a_group_fails_alone(server: Service) -> None:
    """Concurrent requests are converted together; a bad one must not fail the others."""
    bodies = [LOG_REQ.body] * 7 + [b"\xff\xff\xff garbage"]
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body: bytes) -> None:
        barrier.wait()
        statuses.append(_post(server, "/v1/logs", body, PB)[0])

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200] * 7 + [400]
    assert _logs_count(server) == 7 * LOG_REQ.items
