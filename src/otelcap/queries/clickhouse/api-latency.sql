-- api-latency: rendered from queries/api-latency.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH req AS (
  SELECT
    Model,
    DurationMs,
    TtftMs AS ttft_ms
  FROM otel_logs
  WHERE
    EventName = 'api_request'
    AND Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
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
    AND (
      {model: String} = '' OR Model = {model: String}
    )
), by_model AS (
  /* one sort per column for all four levels */
  SELECT
    Model AS model_name,
    COUNT(*) AS requests,
    COUNT(DurationMs) AS with_duration,
    quantilesExactInclusive(0.5, 0.9, 0.95, 0.99)(DurationMs) AS duration_levels,
    MAX(DurationMs) AS duration_max_ms,
    COUNT(ttft_ms) AS with_ttft,
    quantilesExactInclusive(0.5, 0.9, 0.95, 0.99)(ttft_ms) AS ttft_levels,
    MAX(ttft_ms) AS ttft_max_ms
  FROM req
  GROUP BY
    Model
)
SELECT
  model_name AS model,
  requests,
  CASE WHEN with_duration > 0 THEN duration_levels[1] END AS duration_p50_ms, /* over no values DuckDB answers NULL and ClickHouse nan: say NULL on both */
  CASE WHEN with_duration > 0 THEN duration_levels[2] END AS duration_p90_ms,
  CASE WHEN with_duration > 0 THEN duration_levels[3] END AS duration_p95_ms,
  CASE WHEN with_duration > 0 THEN duration_levels[4] END AS duration_p99_ms,
  duration_max_ms,
  with_ttft,
  CASE WHEN with_ttft > 0 THEN ttft_levels[1] END AS ttft_p50_ms,
  CASE WHEN with_ttft > 0 THEN ttft_levels[2] END AS ttft_p90_ms,
  CASE WHEN with_ttft > 0 THEN ttft_levels[3] END AS ttft_p95_ms,
  CASE WHEN with_ttft > 0 THEN ttft_levels[4] END AS ttft_p99_ms,
  ttft_max_ms
FROM by_model
ORDER BY
  requests DESC,
  model_name
SETTINGS join_use_nulls = 1
