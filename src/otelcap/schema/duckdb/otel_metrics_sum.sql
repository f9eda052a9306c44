-- otel_metrics_sum: OpenTelemetry Collector ClickHouse exporter layout, DuckDB types.
-- Promoted Claude Code columns follow the exporter's own (see model/schema.py).
CREATE TABLE IF NOT EXISTS otel_metrics_sum (
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
    "Value" DOUBLE,
    "Flags" UINTEGER,
    "Exemplars.FilteredAttributes" MAP(VARCHAR, VARCHAR)[],
    "Exemplars.TimeUnix" TIMESTAMP_NS[],
    "Exemplars.Value" DOUBLE[],
    "Exemplars.SpanId" VARCHAR[],
    "Exemplars.TraceId" VARCHAR[],
    "AggregationTemporality" INTEGER,
    "IsMonotonic" BOOLEAN,
    "SessionId" VARCHAR,  -- promoted from the attribute map
    "Model" VARCHAR,  -- promoted from the attribute map
    "Type" VARCHAR,  -- promoted from the attribute map
    "SeriesKey" UBIGINT  -- derived by the INSERT (storage/upgrade.py): hash(MetricName, ServiceName, ResourceAttributes, Attributes)
);
