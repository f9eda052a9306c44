"""The OpenTelemetry Python SDK's own OTLP exporters (gRPC and HTTP/protobuf) as clients."""

from __future__ import annotations

import duckdb
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelcap.service import Service


def _exporters(protocol: str, svc: Service) -> tuple[object, object, object]:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        ep = f"127.0.0.1:{svc.endpoints.grpc_port}"
        return (
            OTLPLogExporter(endpoint=ep, insecure=True),
            OTLPMetricExporter(endpoint=ep, insecure=True),
            OTLPSpanExporter(endpoint=ep, insecure=True),
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HL
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HM
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HS

    base = svc.endpoints.http_url
    return (
        HL(endpoint=f"{base}/v1/logs"),
        HM(endpoint=f"{base}/v1/metrics"),
        HS(endpoint=f"{base}/v1/traces"),
    )


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_exporters_store_logs_metrics_spans(protocol: str, server: Service) -> None:
    log_exp, metric_exp, span_exp = _exporters(protocol, server)
    resource = Resource.create({"service.name": "sdk-test", "team": "otelcap"})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exp))  # type: ignore[arg-type]
    tracer = tracer_provider.get_tracer("otelcap.test", "1.2.3")
    with tracer.start_as_current_span("parent", attributes={"k": "v", "n": 3}) as parent:
        parent.add_event("something", {"ok": True})
        with tracer.start_as_current_span("child"):
            pass

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exp))  # type: ignore[arg-type]
    otel_logger = logger_provider.get_logger("otelcap.test")
    from opentelemetry._logs import LogRecord, SeverityNumber

    for i in range(5):
        otel_logger.emit(
            LogRecord(
                body=f"claude_code.tool_result {i}",
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                attributes={"event.name": "tool_result", "event.sequence": i, "ratio": 0.5},
            )
        )

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meter_provider.get_meter("otelcap.test")
    counter = meter.create_counter("claude_code.token.usage", unit="tokens")
    counter.add(10, {"type": "input", "model": "m1"})
    counter.add(5, {"type": "output", "model": "m1"})
    hist = meter.create_histogram("latency", unit="ms")
    for v in (1.0, 5.0, 50.0):
        hist.record(v, {"route": "x"})
    gauge = meter.create_gauge("queue.depth")
    gauge.set(7)
    data = reader.get_metrics_data()
    assert metric_exp.export(data) == MetricExportResult.SUCCESS  # type: ignore[attr-defined]

    tracer_provider.shutdown()
    logger_provider.shutdown()

    db = server.config.database
    server.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        spans = con.execute(
            "SELECT SpanName, ParentSpanId, ScopeName, ScopeVersion, ServiceName, "
            "SpanAttributes['n'], \"Events.Name\" FROM otel_traces ORDER BY SpanName"
        ).fetchall()
        assert [s[0] for s in spans] == ["child", "parent"]
        child, parent = spans
        assert child[1] != "" and parent[1] == ""
        assert parent[2:] == ("otelcap.test", "1.2.3", "sdk-test", "3", ["something"])
        logs = con.execute(
            "SELECT Body, SeverityText, SeverityNumber, EventName, EventSequence, "
            "LogAttributes['ratio'], ResourceAttributes['team'] FROM otel_logs "
            "ORDER BY EventSequence"
        ).fetchall()
        assert len(logs) == 5
        assert logs[2] == (
            "claude_code.tool_result 2",
            "INFO",
            9,
            "tool_result",
            2,
            "0.5",
            "otelcap",
        )
        sums = con.execute(
            "SELECT Type, Model, Value, IsMonotonic, AggregationTemporality "
            "FROM otel_metrics_sum ORDER BY Type"
        ).fetchall()
        assert sums == [("input", "m1", 10.0, True, 2), ("output", "m1", 5.0, True, 2)]
        hist_row = con.execute(
            "SELECT Count, Sum, Min, Max, list_sum(BucketCounts) FROM otel_metrics_histogram"
        ).fetchone()
        assert hist_row == (3, 56.0, 1.0, 50.0, 3)
        assert con.execute("SELECT Value FROM otel_metrics_gauge").fetchall() == [(7.0,)]
