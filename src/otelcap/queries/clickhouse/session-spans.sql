-- session-spans: rendered from queries/session-spans.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  SessionId AS session_id,
  TraceId AS trace_id,
  SpanId AS span_id,
  ParentSpanId AS parent_span_id,
  SpanName AS span_name,
  Timestamp AS started,
  CAST(Duration AS Nullable(Float64)) / 1000000.0 AS duration_ms,
  ToolName AS tool,
  Model AS model,
  Attempt AS attempt,
  Success AS success,
  StatusCode AS status,
  COALESCE(SpanAttributes['agent_id'], '') AS agent_id /* a subagent's spans carry its id (its events carry the same one) */
FROM otel_traces
WHERE
  Timestamp >= {since: DateTime64(9)}
  AND Timestamp < {until: DateTime64(9)}
  AND SessionId <> ''
  AND (
    {session: String} = '' OR SessionId = {session: String}
  )
ORDER BY
  SessionId,
  TraceId,
  Timestamp,
  SpanId
SETTINGS join_use_nulls = 1
