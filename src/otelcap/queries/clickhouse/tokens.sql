-- tokens: rendered from queries/tokens.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH by_model AS (
  SELECT
    CASE {by: String}
      WHEN 'model'
      THEN Model
      WHEN 'project'
      THEN COALESCE(nullIf(Repository, ''), '(no repository)')
      WHEN 'user'
      THEN COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      )
      WHEN 'team'
      THEN COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      )
      WHEN 'department'
      THEN COALESCE(
        nullIf(ResourceAttributes['department'], ''),
        nullIf(LogAttributes['department'], ''),
        '(no department)'
      )
      WHEN 'cost_center'
      THEN COALESCE(
        nullIf(ResourceAttributes['cost_center'], ''),
        nullIf(LogAttributes['cost_center'], ''),
        '(no cost_center)'
      )
      WHEN 'host'
      THEN COALESCE(nullIf(ResourceAttributes['host.name'], ''), '(no host.name)')
      WHEN 'version'
      THEN COALESCE(nullIf(AppVersion, ''), nullIf(ScopeVersion, ''), '(no version)')
      WHEN 'terminal'
      THEN COALESCE(nullIf(TerminalType, ''), '(no terminal)')
      WHEN 'session'
      THEN SessionId
      ELSE CAST(CAST(dateTrunc('DAY', toTimeZone(Timestamp, {tz: String})) AS Nullable(DATE)) AS Nullable(String))
    END AS model_name,
    CAST(COUNT(*) AS Nullable(Int64)) AS requests,
    CAST(COALESCE(SUM(InputTokens), 0) AS Nullable(Int64)) AS input_tokens,
    CAST(COALESCE(SUM(OutputTokens), 0) AS Nullable(Int64)) AS output_tokens,
    CAST(COALESCE(SUM(CacheReadTokens), 0) AS Nullable(Int64)) AS cache_read_tokens,
    CAST(COALESCE(SUM(CacheCreationTokens), 0) AS Nullable(Int64)) AS cache_creation_tokens
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
  GROUP BY
    model_name
), with_total AS (
  SELECT
    *,
    0 AS is_total
  FROM by_model
  UNION ALL
  SELECT
    'total',
    CAST(COALESCE(SUM(requests), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(input_tokens), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(output_tokens), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(cache_read_tokens), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(cache_creation_tokens), 0) AS Nullable(Int64)),
    1
  FROM by_model
)
SELECT
  model_name AS model,
  requests,
  input_tokens,
  output_tokens,
  cache_read_tokens,
  cache_creation_tokens,
  input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens AS total_tokens,
  cache_read_tokens / nullIf(input_tokens + cache_read_tokens + cache_creation_tokens, 0) AS cache_hit_ratio,
  output_tokens / nullIf(requests, 0) AS output_tokens_per_request
FROM with_total
ORDER BY
  is_total,
  total_tokens DESC,
  model_name
SETTINGS join_use_nulls = 1
