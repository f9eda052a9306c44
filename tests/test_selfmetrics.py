"""GET /healthz and the Prometheus GET /metrics on the HTTP port."""

from __future__ import annotations

import contextlib
import http.client
import json

import grpc
from prometheus_client.parser import text_string_to_metric_families

import recordings
from otelcap.service import Service


def _get(svc: Service, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", svc.endpoints.http_port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_healthz_and_metrics_count_what_was_sent(server: Service) -> None:
    status, body = _get(server, "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})

    sent_records = 0
    for req, _ in recordings.replay(
        "tools-grpc", f"127.0.0.1:{server.endpoints.grpc_port}", server.endpoints.http_url
    ):
        sent_records += req.items if req.signal == "logs" else 0
    target = f"127.0.0.1:{server.endpoints.grpc_port}"
    with grpc.insecure_channel(target) as ch, contextlib.suppress(grpc.RpcError):
        ch.unary_unary(recordings.GRPC_METHOD["logs"])(b"\xff garbage", timeout=10)
    n_logs = sum(1 for r in recordings.load("tools-grpc") if r.signal == "logs")

    status, text = _get(server, "/metrics")
    assert status == 200
    got = _samples(text)
    ok = (("outcome", "ok"), ("protocol", "grpc"), ("signal", "logs"))
    bad = (("outcome", "invalid"), ("protocol", "grpc"), ("signal", "logs"))
    assert got[("otelcap_requests_total", ok)] == n_logs
    assert got[("otelcap_requests_total", bad)] == 1
    assert got[("otelcap_records_accepted_total", (("signal", "logs"),))] == sent_records
    assert got[("otelcap_rows_written_total", (("table", "otel_logs"),))] == sent_records
    assert got[("otelcap_queue_rows", ())] == 0
    assert got[("otelcap_flush_seconds_count", ())] >= 1


def test_healthz_is_unavailable_once_the_writer_stopped(server: Service) -> None:
    server.pipeline.stop()
    status, body = _get(server, "/healthz")
    assert status == 503 and json.loads(body)["status"] == "unavailable"


def test_recent_window_counts_the_last_minute_only() -> None:
    from otelcap.selfmetrics import RecentWindow

    now = [1000.0]
    window = RecentWindow(60, clock=lambda: now[0])
    window.add(5)
    now[0] += 30
    window.add(7)
    assert window.total() == 12
    now[0] += 30  # the first add is now 60 s old: out
    assert window.total() == 7
    now[0] += 3600  # a slot reused after an hour starts from zero
    window.add(1)
    assert window.total() == 1
