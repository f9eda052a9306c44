-- otel_metrics_sum: the OpenTelemetry Collector ClickHouse exporter's table (types, codecs, indexes,
-- partitioning and sort key as the exporter creates them), plus otelcap's columns after the
-- exporter's own. Promoted Claude Code columns have a DEFAULT over the attribute map, so rows a
-- stock Collector writes fill them too. Column order matches model/schema.py.
-- Exemplars.* and ValueAtQuantiles.* are the exporter's Nested columns written out as the
-- Arrays they flatten to (flatten_nested=1).
CREATE TABLE IF NOT EXISTS otel_metrics_sum
(
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    `Exemplars.FilteredAttributes` Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    `Exemplars.TimeUnix` Array(DateTime64(9)) CODEC(ZSTD(1)),
    `Exemplars.Value` Array(Float64) CODEC(ZSTD(1)),
    `Exemplars.SpanId` Array(String) CODEC(ZSTD(1)),
    `Exemplars.TraceId` Array(String) CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    IsMonotonic Boolean CODEC(Delta, ZSTD(1)),
    SessionId String DEFAULT Attributes['session.id'] CODEC(ZSTD(1)),  -- promoted from 'session.id'; '' when absent
    Model LowCardinality(String) DEFAULT Attributes['model'] CODEC(ZSTD(1)),  -- promoted from 'model'; '' when absent
    Type LowCardinality(String) DEFAULT Attributes['type'] CODEC(ZSTD(1)),  -- promoted from 'type'; '' when absent
    SeriesKey UInt64 DEFAULT cityHash64(MetricName, ServiceName, ResourceAttributes, Attributes) CODEC(ZSTD(1)),  -- derived: a series' key (storage/upgrade.py); otelcap never sends it
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
TTL toDateTime(TimeUnix) + toIntervalDay(90)
-- otelcap: non_replicated_deduplication_window keeps the last 1000 insert tokens of a plain
-- MergeTree (Replicated/Shared engines keep them by default), so a flush replayed from the
-- spool after an answer was lost is not stored twice.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
