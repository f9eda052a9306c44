-- budget: rendered from queries/budget.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH spend AS (
  /* an aggregate without GROUP BY: one row even when nothing was spent */
  SELECT
    COALESCE(SUM(CostUsd) FILTER(WHERE
      Timestamp >= {day_start: DateTime64(9)}), 0) AS day_usd,
    COUNT(*) FILTER(WHERE
      Timestamp >= {day_start: DateTime64(9)}) AS day_requests,
    COALESCE(SUM(CostUsd) FILTER(WHERE
      Timestamp >= {week_start: DateTime64(9)}), 0) AS week_usd,
    COUNT(*) FILTER(WHERE
      Timestamp >= {week_start: DateTime64(9)}) AS week_requests,
    COALESCE(SUM(CostUsd) FILTER(WHERE
      Timestamp >= {month_start: DateTime64(9)}), 0) AS month_usd,
    COUNT(*) FILTER(WHERE
      Timestamp >= {month_start: DateTime64(9)}) AS month_requests
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
), periods AS (
  SELECT
    1 AS ord,
    'day' AS period
  UNION ALL
  SELECT
    2,
    'week'
  UNION ALL
  SELECT
    3,
    'month'
)
/* one scan, named once (ClickHouse computes a CTE again wherever it is named) */
SELECT
  p.period,
  CASE p.ord
    WHEN 1
    THEN {day_start: DateTime64(9)}
    WHEN 2
    THEN {week_start: DateTime64(9)}
    ELSE {month_start: DateTime64(9)}
  END AS period_start,
  CAST(CASE p.ord WHEN 1 THEN s.day_usd WHEN 2 THEN s.week_usd ELSE s.month_usd END AS Nullable(Float64)) AS spent_usd,
  CAST(CASE p.ord
    WHEN 1
    THEN s.day_requests
    WHEN 2
    THEN s.week_requests
    ELSE s.month_requests
  END AS Nullable(Int64)) AS requests
FROM periods AS p
CROSS JOIN spend AS s
ORDER BY
  p.ord
SETTINGS join_use_nulls = 1
