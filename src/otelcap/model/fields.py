"""Where every OTLP protobuf field lands: a column, or an explicit drop with its reason.

tests/test_schema.py walks the protobuf descriptors of the three Export*ServiceRequest
messages and fails on any field that is in neither table, so a new OTLP field cannot be
silently lost when opentelemetry-proto is upgraded. Destinations name real columns
("table.Column", checked against schema.py) or say how a container/AnyValue is stored.
"""

from __future__ import annotations

_C = "opentelemetry.proto.common.v1."
_R = "opentelemetry.proto.resource.v1."
_L = "opentelemetry.proto.logs.v1."
_M = "opentelemetry.proto.metrics.v1."
_T = "opentelemetry.proto.trace.v1."
_MAPS = "otel_logs.LogAttributes otel_traces.SpanAttributes otel_metrics_sum.Attributes"
_EXEMPLAR = "otel_metrics_sum.Exemplars."
_HIST = "otel_metrics_histogram."
_EXP = "otel_metrics_exponential_histogram."
_SUMMARY = "otel_metrics_summary."

# Containers: their contents are listed field by field below.
STRUCTURE = {
    "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest.resource_logs",
    "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.resource_metrics",
    "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.resource_spans",
    _L + "ResourceLogs.resource", _L + "ResourceLogs.scope_logs", _L + "ScopeLogs.scope",
    _L + "ScopeLogs.log_records", _M + "ResourceMetrics.resource",
    _M + "ResourceMetrics.scope_metrics", _M + "ScopeMetrics.scope", _M + "ScopeMetrics.metrics",
    _T + "ResourceSpans.resource", _T + "ResourceSpans.scope_spans", _T + "ScopeSpans.scope",
    _T + "ScopeSpans.spans", _M + "Metric.gauge", _M + "Metric.sum", _M + "Metric.histogram",
    _M + "Metric.exponential_histogram", _M + "Metric.summary", _M + "Gauge.data_points",
    _M + "Sum.data_points", _M + "Histogram.data_points",
    _M + "ExponentialHistogram.data_points", _M + "Summary.data_points",
    _M + "NumberDataPoint.exemplars", _M + "HistogramDataPoint.exemplars",
    _M + "ExponentialHistogramDataPoint.exemplars", _M + "ExponentialHistogramDataPoint.positive",
    _M + "ExponentialHistogramDataPoint.negative", _M + "SummaryDataPoint.quantile_values",
    _T + "Span.events", _T + "Span.links", _T + "Span.status",
}  # fmt: skip

# Field → the columns it lands in (space separated "table.Column"), or "value:" for the
# parts of an attribute value, which are rendered as text inside the maps (anyvalue.py).
COLUMNS: dict[str, str] = {
    _C + "KeyValue.key": "map keys: " + _MAPS,
    _C + "KeyValue.value": "map values: " + _MAPS,
    _C + "AnyValue.string_value": "value: text",
    _C + "AnyValue.bool_value": "value: true/false",
    _C + "AnyValue.int_value": "value: decimal text",
    _C + "AnyValue.double_value": "value: shortest round-trip text",
    _C + "AnyValue.bytes_value": "value: base64 text",
    _C + "AnyValue.array_value": "value: JSON array text",
    _C + "AnyValue.kvlist_value": "value: JSON object text",
    _C + "ArrayValue.values": "value: JSON array text",
    _C + "KeyValueList.values": "value: JSON object text",
    _R + "Resource.attributes": "otel_logs.ResourceAttributes otel_traces.ResourceAttributes "
    "otel_metrics_sum.ResourceAttributes",
    _C + "InstrumentationScope.name": "otel_logs.ScopeName otel_traces.ScopeName",
    _C + "InstrumentationScope.version": "otel_logs.ScopeVersion otel_traces.ScopeVersion",
    _C + "InstrumentationScope.attributes": "otel_logs.ScopeAttributes "
    "otel_traces.ScopeAttributes otel_metrics_sum.ScopeAttributes",
    _C + "InstrumentationScope.dropped_attributes_count": "otel_metrics_sum.ScopeDroppedAttrCount",
    _L + "ResourceLogs.schema_url": "otel_logs.ResourceSchemaUrl",
    _L + "ScopeLogs.schema_url": "otel_logs.ScopeSchemaUrl",
    _L + "LogRecord.time_unix_nano": "otel_logs.Timestamp",
    _L + "LogRecord.observed_time_unix_nano": "otel_logs.ObservedTimestamp",
    _L + "LogRecord.severity_number": "otel_logs.SeverityNumber",
    _L + "LogRecord.severity_text": "otel_logs.SeverityText",
    _L + "LogRecord.body": "otel_logs.Body",
    _L + "LogRecord.attributes": "otel_logs.LogAttributes",
    _L + "LogRecord.dropped_attributes_count": "otel_logs.DroppedAttributesCount",
    _L + "LogRecord.flags": "otel_logs.TraceFlags",
    _L + "LogRecord.trace_id": "otel_logs.TraceId",
    _L + "LogRecord.span_id": "otel_logs.SpanId",
    _L + "LogRecord.event_name": "otel_logs.EventName",
    _M + "ResourceMetrics.schema_url": "otel_metrics_sum.ResourceSchemaUrl",
    _M + "ScopeMetrics.schema_url": "otel_metrics_sum.ScopeSchemaUrl",
    _M + "Metric.name": "otel_metrics_sum.MetricName",
    _M + "Metric.description": "otel_metrics_sum.MetricDescription",
    _M + "Metric.unit": "otel_metrics_sum.MetricUnit",
    _M + "Sum.aggregation_temporality": "otel_metrics_sum.AggregationTemporality",
    _M + "Sum.is_monotonic": "otel_metrics_sum.IsMonotonic",
    _M + "Histogram.aggregation_temporality": _HIST + "AggregationTemporality",
    _M + "ExponentialHistogram.aggregation_temporality": _EXP + "AggregationTemporality",
    _M + "Exemplar.filtered_attributes": _EXEMPLAR + "FilteredAttributes",
    _M + "Exemplar.time_unix_nano": _EXEMPLAR + "TimeUnix",
    _M + "Exemplar.as_double": _EXEMPLAR + "Value",
    _M + "Exemplar.as_int": _EXEMPLAR + "Value",
    _M + "Exemplar.span_id": _EXEMPLAR + "SpanId",
    _M + "Exemplar.trace_id": _EXEMPLAR + "TraceId",
    _M + "ExponentialHistogramDataPoint.Buckets.offset": _EXP
    + "PositiveOffset "
    + _EXP
    + "NegativeOffset",
    _M + "ExponentialHistogramDataPoint.Buckets.bucket_counts": _EXP
    + "PositiveBucketCounts "
    + _EXP
    + "NegativeBucketCounts",
    _M + "SummaryDataPoint.ValueAtQuantile.quantile": _SUMMARY + "ValueAtQuantiles.Quantile",
    _M + "SummaryDataPoint.ValueAtQuantile.value": _SUMMARY + "ValueAtQuantiles.Value",
    _T + "ResourceSpans.schema_url": "otel_traces.ResourceSchemaUrl",
    _T + "ScopeSpans.schema_url": "otel_traces.ScopeSchemaUrl",
    _T + "Span.trace_id": "otel_traces.TraceId",
    _T + "Span.span_id": "otel_traces.SpanId",
    _T + "Span.trace_state": "otel_traces.TraceState",
    _T + "Span.parent_span_id": "otel_traces.ParentSpanId",
    _T + "Span.flags": "otel_traces.TraceFlags",
    _T + "Span.name": "otel_traces.SpanName",
    _T + "Span.kind": "otel_traces.SpanKind",
    _T + "Span.start_time_unix_nano": "otel_traces.Timestamp",
    _T + "Span.end_time_unix_nano": "otel_traces.Duration",
    _T + "Span.attributes": "otel_traces.SpanAttributes",
    _T + "Span.dropped_attributes_count": "otel_traces.DroppedAttributesCount",
    _T + "Span.Event.time_unix_nano": "otel_traces.Events.Timestamp",
    _T + "Span.Event.name": "otel_traces.Events.Name",
    _T + "Span.Event.attributes": "otel_traces.Events.Attributes",
    _T + "Span.Event.dropped_attributes_count": "otel_traces.Events.DroppedAttributesCount",
    _T + "Span.dropped_events_count": "otel_traces.DroppedEventsCount",
    _T + "Span.Link.trace_id": "otel_traces.Links.TraceId",
    _T + "Span.Link.span_id": "otel_traces.Links.SpanId",
    _T + "Span.Link.trace_state": "otel_traces.Links.TraceState",
    _T + "Span.Link.attributes": "otel_traces.Links.Attributes",
    _T + "Span.Link.dropped_attributes_count": "otel_traces.Links.DroppedAttributesCount",
    _T + "Span.Link.flags": "otel_traces.Links.Flags",
    _T + "Span.dropped_links_count": "otel_traces.DroppedLinksCount",
    _T + "Status.message": "otel_traces.StatusMessage",
    _T + "Status.code": "otel_traces.StatusCode",
}

# Data point fields shared by the point kinds, with their column per table.
for _point, _table in (
    ("NumberDataPoint", "otel_metrics_sum"),
    ("HistogramDataPoint", "otel_metrics_histogram"),
    ("ExponentialHistogramDataPoint", "otel_metrics_exponential_histogram"),
    ("SummaryDataPoint", "otel_metrics_summary"),
):
    COLUMNS[_M + _point + ".attributes"] = f"{_table}.Attributes"
    COLUMNS[_M + _point + ".start_time_unix_nano"] = f"{_table}.StartTimeUnix"
    COLUMNS[_M + _point + ".time_unix_nano"] = f"{_table}.TimeUnix"
    COLUMNS[_M + _point + ".flags"] = f"{_table}.Flags"
COLUMNS[_M + "NumberDataPoint.as_double"] = "otel_metrics_sum.Value otel_metrics_gauge.Value"
COLUMNS[_M + "NumberDataPoint.as_int"] = "otel_metrics_sum.Value otel_metrics_gauge.Value"
for _point, _table in (
    ("HistogramDataPoint", _HIST),
    ("ExponentialHistogramDataPoint", _EXP),
    ("SummaryDataPoint", _SUMMARY),
):
    COLUMNS[_M + _point + ".count"] = _table + "Count"
    COLUMNS[_M + _point + ".sum"] = _table + "Sum"
for _point, _table in (("HistogramDataPoint", _HIST), ("ExponentialHistogramDataPoint", _EXP)):
    COLUMNS[_M + _point + ".min"] = _table + "Min"
    COLUMNS[_M + _point + ".max"] = _table + "Max"
COLUMNS[_M + "HistogramDataPoint.bucket_counts"] = _HIST + "BucketCounts"
COLUMNS[_M + "HistogramDataPoint.explicit_bounds"] = _HIST + "ExplicitBounds"
COLUMNS[_M + "ExponentialHistogramDataPoint.scale"] = _EXP + "Scale"
COLUMNS[_M + "ExponentialHistogramDataPoint.zero_count"] = _EXP + "ZeroCount"
COLUMNS[_M + "ExponentialHistogramDataPoint.zero_threshold"] = _EXP + "ZeroThreshold"

# Fields deliberately not stored, with the reason.
DROPPED: dict[str, str] = {
    _R + "Resource.dropped_attributes_count": "SDK bookkeeping; the exporter does not store it",
    _R + "Resource.entity_refs": "development-status entity model; not sent by Claude Code",
    _C + "EntityRef.schema_url": "part of entity_refs (dropped)",
    _C + "EntityRef.type": "part of entity_refs (dropped)",
    _C + "EntityRef.id_keys": "part of entity_refs (dropped)",
    _C + "EntityRef.description_keys": "part of entity_refs (dropped)",
    _C + "AnyValue.string_value_strindex": "profiles-only dictionary index; unused by "
    "logs/metrics/traces",
    _C + "KeyValue.key_strindex": "profiles-only dictionary index; unused by logs/metrics/traces",
    _M + "Metric.metadata": "development-status metric metadata; not stored by the exporter",
}
