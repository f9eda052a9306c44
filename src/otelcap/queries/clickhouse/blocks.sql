-- blocks: rendered from queries/blocks.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH requests AS (
  SELECT
    Timestamp AS ts,
    dateTrunc('HOUR', Timestamp) AS hour_start,
    COALESCE(InputTokens, 0) + COALESCE(OutputTokens, 0) + COALESCE(CacheReadTokens, 0) + COALESCE(CacheCreationTokens, 0) AS tokens,
    COALESCE(InputTokens, 0) AS input_tokens,
    COALESCE(OutputTokens, 0) AS output_tokens,
    COALESCE(CostUsd, 0) AS cost
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
), hours AS (
  SELECT DISTINCT
    hour_start
  FROM requests
), starts AS (
  SELECT
    arrayJoin(
      arrayFold(
        (acc, h) -> CASE WHEN h >= acc[-1] + INTERVAL '5' HOUR THEN arrayPushBack(acc, h) ELSE acc END,
        arraySort(groupArray(hour_start)),
        [min(hour_start)]
      )
    ) AS start_hour
  FROM hours
  HAVING
    count(*) > 0
), hour_block AS (
  /* each hour's block: the latest start at or before it. Every start is one of the hours, */
  /* so that is a running max over the hours in order (a join of every hour with every */
  /* start before it made 4.7M pairs at 1M events) */
  SELECT
    hours.hour_start,
    MAX(starts.start_hour) OVER (ORDER BY hours.hour_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS hour_block_start
  FROM hours
  LEFT JOIN starts
    ON starts.start_hour = hours.hour_start
), per_block AS (
  SELECT
    b.hour_block_start AS block_start,
    COUNT(*) AS requests,
    CAST(SUM(r.input_tokens) AS Nullable(Int64)) AS input_tokens,
    CAST(SUM(r.output_tokens) AS Nullable(Int64)) AS output_tokens,
    CAST(SUM(r.tokens) AS Nullable(Int64)) AS total_tokens,
    SUM(r.cost) AS cost_usd,
    MIN(r.ts) AS first_request,
    MAX(r.ts) AS last_request
  FROM requests AS r
  JOIN hour_block AS b
    ON r.hour_start = b.hour_start
  GROUP BY
    b.hour_block_start
), shaped AS (
  SELECT
    *,
    block_start + INTERVAL '5' HOUR AS block_end,
    {at: DateTime64(9)} >= block_start
    AND {at: DateTime64(9)} < block_start + INTERVAL '5' HOUR AS is_active,
    GREATEST(DATE_DIFF(MILLISECOND, first_request, {at: DateTime64(9)}) / 3600000.0, 1 / 60.0) AS hours_in
  FROM per_block
)
SELECT
  block_start,
  block_end,
  CASE WHEN is_active THEN 'active' ELSE '' END AS state,
  requests,
  input_tokens,
  output_tokens,
  total_tokens,
  cost_usd,
  first_request,
  last_request,
  CASE WHEN is_active THEN cost_usd / hours_in END AS burn_usd_per_hour,
  CASE
    WHEN is_active
    THEN cost_usd + cost_usd / hours_in * DATE_DIFF(MILLISECOND, {at: DateTime64(9)}, block_end) / 3600000.0
  END AS projected_cost_usd
FROM shaped
ORDER BY
  block_start
SETTINGS join_use_nulls = 1
