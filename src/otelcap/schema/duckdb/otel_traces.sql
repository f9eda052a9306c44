-- otel_traces: OpenTelemetry Collector ClickHouse exporter layout, DuckDB types.
-- Promoted Claude Code columns follow the exporter's own (see model/schema.py).
CREATE TABLE IF NOT EXISTS otel_traces (
    "Timestamp" TIMESTAMP_NS,  -- event time; the observed time when the event time is unset
    "TraceId" VARCHAR,
    "SpanId" VARCHAR,
    "ParentSpanId" VARCHAR,
    "TraceState" VARCHAR,
    "SpanName" VARCHAR,
    "SpanKind" VARCHAR,
    "ServiceName" VARCHAR,
    "ResourceAttributes" MAP(VARCHAR, VARCHAR),
    "ScopeName" VARCHAR,
    "ScopeVersion" VARCHAR,
    "SpanAttributes" MAP(VARCHAR, VARCHAR),
    "Duration" UBIGINT,  -- nanoseconds, end - start
    "StatusCode" VARCHAR,  -- promoted from the attribute map
    "StatusMessage" VARCHAR,
    "Events.Timestamp" TIMESTAMP_NS[],
    "Events.Name" VARCHAR[],
    "Events.Attributes" MAP(VARCHAR, VARCHAR)[],
    "Links.TraceId" VARCHAR[],
    "Links.SpanId" VARCHAR[],
    "Links.TraceState" VARCHAR[],
    "Links.Attributes" MAP(VARCHAR, VARCHAR)[],
    "ResourceSchemaUrl" VARCHAR,
    "ScopeSchemaUrl" VARCHAR,
    "ScopeAttributes" MAP(VARCHAR, VARCHAR),
    "TraceFlags" UINTEGER,  -- W3C trace flags (low 8 bits of LogRecord.flags)
    "DroppedAttributesCount" UINTEGER,
    "DroppedEventsCount" UINTEGER,
    "DroppedLinksCount" UINTEGER,
    "Events.DroppedAttributesCount" UINTEGER[],
    "Links.DroppedAttributesCount" UINTEGER[],
    "Links.Flags" UINTEGER[],
    "SessionId" VARCHAR,  -- promoted from the attribute map
    "Model" VARCHAR,  -- promoted from the attribute map
    "ToolName" VARCHAR,  -- promoted from the attribute map
    "Attempt" INTEGER,  -- promoted from the attribute map
    "DurationMs" DOUBLE,  -- promoted from the attribute map
    "InputTokens" BIGINT,  -- promoted from the attribute map
    "OutputTokens" BIGINT,  -- promoted from the attribute map
    "CacheReadTokens" BIGINT,  -- promoted from the attribute map
    "CacheCreationTokens" BIGINT,  -- promoted from the attribute map
    "Success" BOOLEAN  -- promoted from the attribute map
);
