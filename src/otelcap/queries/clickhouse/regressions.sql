-- regressions: rendered from queries/regressions.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH turns AS (
  SELECT
    SessionId,
    PromptId,
    MAX(AppVersion) AS version_name,
    COALESCE(argMin(Model, EventSequence) FILTER(WHERE
      Model <> ''), '') AS turn_model,
    COUNT(*) FILTER(WHERE
      EventName = 'api_request') AS turn_api_requests,
    COUNT(*) FILTER(WHERE
      EventName = 'api_error') AS turn_api_errors,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result') AS turn_tool_calls,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result' AND Success = FALSE) AS turn_tool_failures,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision') AS turn_decisions,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision' AND Decision = 'reject') AS turn_rejections,
    MIN(Timestamp) AS first_at,
    MAX(Timestamp) AS last_at
  FROM otel_logs
  WHERE
    Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND SessionId <> ''
    AND PromptId <> ''
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(nullIf(Repository, ''), '(no repository)') = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
  GROUP BY
    SessionId,
    PromptId
), by_version AS (
  SELECT
    version_name,
    turn_model,
    COUNT(DISTINCT SessionId) AS sessions,
    COUNT(*) AS prompts,
    COUNT(*) FILTER(WHERE
      turn_api_errors > 0 OR turn_tool_failures > 0 OR turn_rejections > 0) AS failed_turns,
    CAST(SUM(turn_api_requests) AS Nullable(Int64)) AS api_requests,
    CAST(SUM(turn_api_errors) AS Nullable(Int64)) AS api_errors,
    CAST(SUM(turn_tool_calls) AS Nullable(Int64)) AS tool_calls,
    CAST(SUM(turn_tool_failures) AS Nullable(Int64)) AS tool_failures,
    CAST(SUM(turn_decisions) AS Nullable(Int64)) AS decisions,
    CAST(SUM(turn_rejections) AS Nullable(Int64)) AS rejections,
    MIN(first_at) AS first_seen,
    MAX(last_at) AS last_seen
  FROM turns
  WHERE
    {model: String} = '' OR turn_model = {model: String}
  GROUP BY
    version_name,
    turn_model
)
SELECT
  version_name AS app_version,
  turn_model AS model,
  sessions,
  prompts,
  failed_turns,
  failed_turns / nullIf(prompts, 0) AS failed_turn_rate,
  api_requests,
  api_errors,
  api_errors / nullIf(api_requests + api_errors, 0) AS api_error_rate,
  tool_calls,
  tool_failures,
  tool_failures / nullIf(tool_calls, 0) AS tool_failure_rate,
  decisions,
  rejections,
  rejections / nullIf(decisions, 0) AS reject_rate,
  first_seen,
  last_seen
FROM by_version
ORDER BY
  first_seen,
  version_name,
  turn_model
SETTINGS join_use_nulls = 1
