-- name: session-spans
-- description: A session's spans (traces beta): the interaction of each turn and under it the API calls, tool runs, time blocked on the user and subagents, with start and duration.
-- param: since timestamp 1970-01-01 spans that started at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 spans that started before this time
-- param: session text '' the session id ('' = every session)
--
-- Claude Code sends spans only with CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 and
-- OTEL_TRACES_EXPORTER=otlp: claude_code.interaction (one per turn) → llm_request, tool →
-- tool.blocked_on_user, tool.execution. The log events of the same turn carry its trace_id
-- (session-events), which is how `otelcap report` puts the waterfall under its turn.
-- Duration is in milliseconds (the table holds nanoseconds).
SELECT
    SessionId AS session_id,
    TraceId AS trace_id,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    SpanName AS span_name,
    Timestamp AS started,
    CAST(Duration AS DOUBLE) / 1000000.0 AS duration_ms,
    ToolName AS tool,
    Model AS model,
    Attempt AS attempt,
    Success AS success,
    StatusCode AS status,
    -- a subagent's spans carry its id (its events carry the same one)
    coalesce(SpanAttributes['agent_id'], '') AS agent_id
FROM otel_traces
WHERE Timestamp >= $since
  AND Timestamp < $until
  AND SessionId <> ''
  AND ($session = '' OR SessionId = $session)
ORDER BY SessionId, TraceId, Timestamp, SpanId
