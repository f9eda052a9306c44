-- otel_logs: OpenTelemetry Collector ClickHouse exporter layout, DuckDB types.
-- Promoted Claude Code columns follow the exporter's own (see model/schema.py).
CREATE TABLE IF NOT EXISTS otel_logs (
    "Timestamp" TIMESTAMP_NS,  -- event time; the observed time when the event time is unset
    "TraceId" VARCHAR,
    "SpanId" VARCHAR,
    "TraceFlags" UTINYINT,  -- W3C trace flags (low 8 bits of LogRecord.flags)
    "SeverityText" VARCHAR,
    "SeverityNumber" UTINYINT,
    "ServiceName" VARCHAR,
    "Body" VARCHAR,
    "ResourceSchemaUrl" VARCHAR,
    "ResourceAttributes" MAP(VARCHAR, VARCHAR),
    "ScopeSchemaUrl" VARCHAR,
    "ScopeName" VARCHAR,
    "ScopeVersion" VARCHAR,
    "ScopeAttributes" MAP(VARCHAR, VARCHAR),
    "LogAttributes" MAP(VARCHAR, VARCHAR),
    "EventName" VARCHAR,  -- short form (`api_request`), from event.name or the body
    "ObservedTimestamp" TIMESTAMP_NS,  -- otelcap: kept so no OTLP field is lost
    "DroppedAttributesCount" UINTEGER,
    "WorkflowStep" VARCHAR,  -- otelcap: slash command that started the prompt, read before the prompt is hashed
    "SessionId" VARCHAR,  -- promoted from the attribute map
    "PromptId" VARCHAR,  -- promoted from the attribute map
    "EventSequence" BIGINT,  -- promoted from the attribute map
    "UserAccountUuid" VARCHAR,  -- promoted from the attribute map
    "OrganizationId" VARCHAR,  -- promoted from the attribute map
    "TerminalType" VARCHAR,  -- promoted from the attribute map
    "AppVersion" VARCHAR,  -- promoted from the attribute map
    "Model" VARCHAR,  -- promoted from the attribute map
    "ToolName" VARCHAR,  -- promoted from the attribute map
    "Decision" VARCHAR,  -- promoted from the attribute map
    "DecisionSource" VARCHAR,  -- promoted from the attribute map
    "ErrorType" VARCHAR,  -- promoted from the attribute map
    "Error" VARCHAR,  -- promoted from the attribute map
    "StatusCode" INTEGER,  -- promoted from the attribute map
    "Attempt" INTEGER,  -- promoted from the attribute map
    "CostUsd" DOUBLE,  -- promoted from the attribute map
    "DurationMs" DOUBLE,  -- promoted from the attribute map
    "InputTokens" BIGINT,  -- promoted from the attribute map
    "OutputTokens" BIGINT,  -- promoted from the attribute map
    "CacheReadTokens" BIGINT,  -- promoted from the attribute map
    "CacheCreationTokens" BIGINT,  -- promoted from the attribute map
    "PromptLength" BIGINT,  -- promoted from the attribute map
    "Success" BOOLEAN,  -- promoted from the attribute map
    "TtftMs" DOUBLE,  -- promoted: api_request time to first token
    "ConnectionStatus" VARCHAR,  -- promoted: mcp_server_connection status
    "HooksBlocking" BIGINT,  -- promoted: hook_execution_complete num_blocking
    "HooksNonBlockingError" BIGINT,  -- promoted: hook_execution_complete num_non_blocking_error
    "HooksCancelled" BIGINT,  -- promoted: hook_execution_complete num_cancelled
    "Repository" VARCHAR DEFAULT ''  -- derived by the INSERT from the maps (storage/upgrade.py): vcs.repository.name, else .url.full, on the record or its resource; '' when absent
);
