"""OTLP receivers: gRPC (:4317) and HTTP (:4318). They decode the wire format and hand a
decoded Export*ServiceRequest to a sink; they never see storage."""

from otelcap.receiver.sink import IngestResult, Sink

__all__ = ["IngestResult", "Sink"]
