-- turn-lookup: rendered from queries/turn-lookup.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  PromptId AS prompt_id,
  SessionId AS session_id,
  MIN(Timestamp) AS started,
  COUNT(*) AS events
FROM otel_logs
WHERE
  PromptId <> ''
  AND SessionId <> ''
  AND startsWith(PromptId, {prefix: String})
  AND Timestamp >= {since: DateTime64(9)}
  AND Timestamp < {until: DateTime64(9)}
  AND (
    {session: String} = '' OR SessionId = {session: String}
  )
GROUP BY
  PromptId,
  SessionId
ORDER BY
  started,
  prompt_id
LIMIT 20
SETTINGS join_use_nulls = 1
