-- otel_metrics_summary: OpenTelemetry Collector ClickHouse exporter layout, DuckDB types.
-- Promoted Claude Code columns follow the exporter's own (see model/schema.py).
CREATE TABLE IF NOT EXISTS otel_metrics_summary (
    "ResourceAttributes" MAP(VARCHAR, VARCHAR),
    "ResourceSchemaUrl" VARCHAR,
    "ScopeName" VARCHAR,
    "ScopeVersion" VARCHAR,
    "ScopeAttributes" MAP(VARCHAR, VARCHAR),
    "ScopeDroppedAttrCount" UINTEGER,
    "ScopeSchemaUrl" VARCHAR,
    "ServiceName" VARCHAR,
    "MetricName" VARCHAR,
    "MetricDescription" VARCHAR,
    "MetricUnit" VARCHAR,
    "Attributes" MAP(VARCHAR, VARCHAR),
    "StartTimeUnix" TIMESTAMP_NS,
    "TimeUnix" TIMESTAMP_NS,
    "Count" UBIGINT,
    "Sum" DOUBLE,
    "ValueAtQuantiles.Quantile" DOUBLE[],
    "ValueAtQuantiles.Value" DOUBLE[],
    "Flags" UINTEGER,
    "SessionId" VARCHAR,  -- promoted from the attribute map
    "Model" VARCHAR,  -- promoted from the attribute map
    "Type" VARCHAR  -- promoted from the attribute map
);
