-- otel_traces: the OpenTelemetry Collector ClickHouse exporter's table (types, codecs, indexes,
-- partitioning and sort key as the exporter creates them), plus otelcap's columns after the
-- exporter's own. Promoted Claude Code columns have a DEFAULT over the attribute map, so rows a
-- stock Collector writes fill them too. Column order matches model/schema.py.
-- Events.* and Links.* are the exporter's Nested columns written out as the Arrays they flatten to
-- (flatten_nested=1), so otelcap's extra Nested fields keep model/schema.py's column order.
CREATE TABLE IF NOT EXISTS otel_traces
(
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    `Events.Timestamp` Array(DateTime64(9)) CODEC(ZSTD(1)),
    `Events.Name` Array(LowCardinality(String)) CODEC(ZSTD(1)),
    `Events.Attributes` Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    `Links.TraceId` Array(String) CODEC(ZSTD(1)),
    `Links.SpanId` Array(String) CODEC(ZSTD(1)),
    `Links.TraceState` Array(String) CODEC(ZSTD(1)),
    `Links.Attributes` Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),  -- otelcap: kept so no OTLP field is lost
    ScopeSchemaUrl String CODEC(ZSTD(1)),  -- otelcap: kept so no OTLP field is lost
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),  -- otelcap: kept so no OTLP field is lost
    TraceFlags UInt32,  -- otelcap: W3C trace flags of the span
    DroppedAttributesCount UInt32,  -- otelcap: kept so no OTLP field is lost
    DroppedEventsCount UInt32,  -- otelcap: kept so no OTLP field is lost
    DroppedLinksCount UInt32,  -- otelcap: kept so no OTLP field is lost
    `Events.DroppedAttributesCount` Array(UInt32) CODEC(ZSTD(1)),  -- otelcap: kept so no OTLP field is lost
    `Links.DroppedAttributesCount` Array(UInt32) CODEC(ZSTD(1)),  -- otelcap: kept so no OTLP field is lost
    `Links.Flags` Array(UInt32) CODEC(ZSTD(1)),  -- otelcap: kept so no OTLP field is lost
    SessionId String DEFAULT SpanAttributes['session.id'] CODEC(ZSTD(1)),  -- promoted from 'session.id'; '' when absent
    Model LowCardinality(String) DEFAULT SpanAttributes['model'] CODEC(ZSTD(1)),  -- promoted from 'model'; '' when absent
    ToolName LowCardinality(String) DEFAULT SpanAttributes['tool_name'] CODEC(ZSTD(1)),  -- promoted from 'tool_name'; '' when absent
    Attempt Nullable(Int32) DEFAULT toInt32OrNull(SpanAttributes['attempt']) CODEC(ZSTD(1)),  -- promoted from 'attempt'; NULL when absent or not a number
    DurationMs Nullable(Float64) DEFAULT toFloat64OrNull(SpanAttributes['duration_ms']) CODEC(ZSTD(1)),  -- promoted from 'duration_ms'; NULL when absent or not a number
    InputTokens Nullable(Int64) DEFAULT toInt64OrNull(SpanAttributes['input_tokens']) CODEC(ZSTD(1)),  -- promoted from 'input_tokens'; NULL when absent or not a number
    OutputTokens Nullable(Int64) DEFAULT toInt64OrNull(SpanAttributes['output_tokens']) CODEC(ZSTD(1)),  -- promoted from 'output_tokens'; NULL when absent or not a number
    CacheReadTokens Nullable(Int64) DEFAULT toInt64OrNull(SpanAttributes['cache_read_tokens']) CODEC(ZSTD(1)),  -- promoted from 'cache_read_tokens'; NULL when absent or not a number
    CacheCreationTokens Nullable(Int64) DEFAULT toInt64OrNull(SpanAttributes['cache_creation_tokens']) CODEC(ZSTD(1)),  -- promoted from 'cache_creation_tokens'; NULL when absent or not a number
    Success Nullable(Bool) DEFAULT multiIf(lower(SpanAttributes['success']) = 'true', true, lower(SpanAttributes['success']) = 'false', false, NULL),  -- promoted from 'success' ("true"/"false" on the wire)
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
TTL toDateTime(Timestamp) + toIntervalDay(90)
-- otelcap: non_replicated_deduplication_window keeps the last 1000 insert tokens of a plain
-- MergeTree (Replicated/Shared engines keep them by default), so a flush replayed from the
-- spool after an answer was lost is not stored twice.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
