-- otel_logs: the OpenTelemetry Collector ClickHouse exporter's table (types, codecs, indexes,
-- partitioning and sort key as the exporter creates them), plus otelcap's columns after the
-- exporter's own. Promoted Claude Code columns have a DEFAULT over the attribute map, so rows a
-- stock Collector writes fill them too. Column order matches model/schema.py.
-- Never depend on TimestampTime: newer exporters dropped it; toDateTime(Timestamp) replaces it.
CREATE TABLE IF NOT EXISTS otel_logs
(
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    ObservedTimestamp DateTime64(9) DEFAULT Timestamp CODEC(Delta(8), ZSTD(1)),  -- otelcap: kept so no OTLP field is lost; a stock Collector row gets its Timestamp
    DroppedAttributesCount UInt32,  -- otelcap: kept so no OTLP field is lost
    WorkflowStep LowCardinality(String),  -- otelcap: slash command that started the prompt, read before the prompt is hashed
    SessionId String DEFAULT LogAttributes['session.id'] CODEC(ZSTD(1)),  -- promoted from 'session.id'; '' when absent
    PromptId String DEFAULT LogAttributes['prompt.id'] CODEC(ZSTD(1)),  -- promoted from 'prompt.id'; '' when absent
    EventSequence Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['event.sequence']) CODEC(ZSTD(1)),  -- promoted from 'event.sequence'; NULL when absent or not a number
    UserAccountUuid LowCardinality(String) DEFAULT LogAttributes['user.account_uuid'] CODEC(ZSTD(1)),  -- promoted from 'user.account_uuid'; '' when absent
    OrganizationId LowCardinality(String) DEFAULT LogAttributes['organization.id'] CODEC(ZSTD(1)),  -- promoted from 'organization.id'; '' when absent
    TerminalType LowCardinality(String) DEFAULT LogAttributes['terminal.type'] CODEC(ZSTD(1)),  -- promoted from 'terminal.type'; '' when absent
    AppVersion LowCardinality(String) DEFAULT if(LogAttributes['app.version'] != '', LogAttributes['app.version'], ResourceAttributes['service.version']),  -- app.version, else the resource's service.version
    Model LowCardinality(String) DEFAULT LogAttributes['model'] CODEC(ZSTD(1)),  -- promoted from 'model'; '' when absent
    ToolName LowCardinality(String) DEFAULT LogAttributes['tool_name'] CODEC(ZSTD(1)),  -- promoted from 'tool_name'; '' when absent
    Decision LowCardinality(String) DEFAULT LogAttributes['decision'] CODEC(ZSTD(1)),  -- promoted from 'decision'; '' when absent
    DecisionSource LowCardinality(String) DEFAULT LogAttributes['source'] CODEC(ZSTD(1)),  -- promoted from 'source'; '' when absent
    ErrorType LowCardinality(String) DEFAULT LogAttributes['error_type'] CODEC(ZSTD(1)),  -- promoted from 'error_type'; '' when absent
    Error String DEFAULT LogAttributes['error'] CODEC(ZSTD(1)),  -- promoted from 'error'; '' when absent
    StatusCode Nullable(Int32) DEFAULT toInt32OrNull(LogAttributes['status_code']) CODEC(ZSTD(1)),  -- promoted from 'status_code'; NULL when absent or not a number
    Attempt Nullable(Int32) DEFAULT toInt32OrNull(LogAttributes['attempt']) CODEC(ZSTD(1)),  -- promoted from 'attempt'; NULL when absent or not a number
    CostUsd Nullable(Float64) DEFAULT toFloat64OrNull(LogAttributes['cost_usd']) CODEC(ZSTD(1)),  -- promoted from 'cost_usd'; NULL when absent or not a number
    DurationMs Nullable(Float64) DEFAULT toFloat64OrNull(LogAttributes['duration_ms']) CODEC(ZSTD(1)),  -- promoted from 'duration_ms'; NULL when absent or not a number
    InputTokens Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['input_tokens']) CODEC(ZSTD(1)),  -- promoted from 'input_tokens'; NULL when absent or not a number
    OutputTokens Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['output_tokens']) CODEC(ZSTD(1)),  -- promoted from 'output_tokens'; NULL when absent or not a number
    CacheReadTokens Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['cache_read_tokens']) CODEC(ZSTD(1)),  -- promoted from 'cache_read_tokens'; NULL when absent or not a number
    CacheCreationTokens Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['cache_creation_tokens']) CODEC(ZSTD(1)),  -- promoted from 'cache_creation_tokens'; NULL when absent or not a number
    PromptLength Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['prompt_length']) CODEC(ZSTD(1)),  -- promoted from 'prompt_length'; NULL when absent or not a number
    Success Nullable(Bool) DEFAULT multiIf(lower(LogAttributes['success']) = 'true', true, lower(LogAttributes['success']) = 'false', false, NULL),  -- promoted from 'success' ("true"/"false" on the wire)
    TtftMs Nullable(Float64) DEFAULT toFloat64OrNull(LogAttributes['ttft_ms']) CODEC(ZSTD(1)),  -- promoted from 'ttft_ms'; NULL when absent or not a number
    ConnectionStatus LowCardinality(String) DEFAULT LogAttributes['status'] CODEC(ZSTD(1)),  -- promoted from 'status'; '' when absent
    HooksBlocking Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['num_blocking']) CODEC(ZSTD(1)),  -- promoted from 'num_blocking'; NULL when absent or not a number
    HooksNonBlockingError Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['num_non_blocking_error']) CODEC(ZSTD(1)),  -- promoted from 'num_non_blocking_error'; NULL when absent or not a number
    HooksCancelled Nullable(Int64) DEFAULT toInt64OrNull(LogAttributes['num_cancelled']) CODEC(ZSTD(1)),  -- promoted from 'num_cancelled'; NULL when absent or not a number
    Repository LowCardinality(String) DEFAULT coalesce(nullif(LogAttributes['vcs.repository.name'], ''), nullif(ResourceAttributes['vcs.repository.name'], ''), nullif(LogAttributes['vcs.repository.url.full'], ''), nullif(ResourceAttributes['vcs.repository.url.full'], ''), ''),  -- derived: the project label (storage/upgrade.py); otelcap never sends it
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8,
    INDEX idx_session_id SessionId TYPE bloom_filter(0.001) GRANULARITY 1  -- otelcap: `--session` lookups
)
ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, toDateTime(Timestamp))
ORDER BY (ServiceName, toDateTime(Timestamp), Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(90)
-- otelcap: non_replicated_deduplication_window keeps the last 1000 insert tokens of a plain
-- MergeTree (Replicated/Shared engines keep them by default), so a flush replayed from the
-- spool after an answer was lost is not stored twice.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
