-- cost: rendered from queries/cost.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH request_quarters AS (
  /* per quarter hour (UTC) first: the zone's wall clock is then read once per quarter and */
  /* group, not once per request (per request it was half of this query's instructions at */
  /* 300k events: bench/queries.py --callgrind) */
  SELECT
    toStartOfInterval(Timestamp, INTERVAL '15' MINUTE) AS quarter_start,
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
    COUNT(*) AS requests,
    COALESCE(SUM(InputTokens), 0) AS input_tokens,
    COALESCE(SUM(OutputTokens), 0) AS output_tokens,
    COALESCE(SUM(CacheReadTokens), 0) AS cache_read_tokens,
    COALESCE(SUM(CacheCreationTokens), 0) AS cache_creation_tokens,
    COALESCE(SUM(CostUsd), 0) AS cost_usd
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
    quarter_start,
    model_name
), quarters AS (
  SELECT DISTINCT
    quarter_start
  FROM request_quarters
), quarter_days AS (
  SELECT
    quarter_start,
    day_start,
    day_start = CAST(dateTrunc('DAY', last_local) AS Nullable(DATE))
    AND (
      HOUR(last_local) * 3600 + MINUTE(last_local) * 60 + SECOND(last_local) - HOUR(before_local) * 3600 - MINUTE(before_local) * 60 - SECOND(before_local) + 86400
    ) % 86400 = 900 AS whole
  FROM (
    /* each quarter's wall clock at its first and last seconds and a second before it; */
    /* read as hour/minute/second, which both engines give in the zone (ClickHouse's */
    /* zoned DateTime64 subtracts as instants, 900 s always) */
    SELECT
      quarter_start,
      CAST(dateTrunc('DAY', toTimeZone(quarter_start, {tz: String})) AS Nullable(DATE)) AS day_start,
      toTimeZone(quarter_start + INTERVAL '899' SECOND, {tz: String}) AS last_local,
      toTimeZone(quarter_start - INTERVAL '1' SECOND, {tz: String}) AS before_local
    FROM quarters
  ) AS local_edges
), quarter_periods AS (
  /* a quarter's requests share its period when they share its day (_fragments/ */
  /* quarter_days.sql); the other quarters' requests are bucketed one by one below. */
  /* Named twice: materialized, or DuckDB reads each quarter's wall clock twice (1M: +14 %) */
  SELECT
    quarter_start,
    CAST(dateTrunc({period: String}, day_start) AS Nullable(DATE)) AS period_start,
    whole
  FROM quarter_days
), requests AS (
  SELECT
    p.period_start,
    r.model_name,
    r.requests,
    r.input_tokens,
    r.output_tokens,
    r.cache_read_tokens,
    r.cache_creation_tokens,
    r.cost_usd
  FROM request_quarters AS r
  JOIN quarter_periods AS p
    ON p.quarter_start = r.quarter_start
  WHERE
    p.whole
  UNION ALL
  /* the requests of the other quarters (none in most zones, most of the time), one by one */
  SELECT
    CAST(dateTrunc({period: String}, toTimeZone(Timestamp, {tz: String})) AS Nullable(DATE)) AS period_start,
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
    COUNT(*) AS requests,
    COALESCE(SUM(InputTokens), 0) AS input_tokens,
    COALESCE(SUM(OutputTokens), 0) AS output_tokens,
    COALESCE(SUM(CacheReadTokens), 0) AS cache_read_tokens,
    COALESCE(SUM(CacheCreationTokens), 0) AS cache_creation_tokens,
    COALESCE(SUM(CostUsd), 0) AS cost_usd
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
    AND toStartOfInterval(Timestamp, INTERVAL '15' MINUTE) IN (
      SELECT
        quarter_start
      FROM quarter_periods
      WHERE
        NOT whole
    )
  GROUP BY
    period_start,
    model_name
), series_points AS (
  SELECT
    CASE {by: String}
      WHEN 'model'
      THEN Model
      WHEN 'project'
      THEN COALESCE(
        nullIf(Attributes['vcs.repository.name'], ''),
        nullIf(ResourceAttributes['vcs.repository.name'], ''),
        nullIf(Attributes['vcs.repository.url.full'], ''),
        nullIf(ResourceAttributes['vcs.repository.url.full'], ''),
        '(no repository)'
      )
      WHEN 'user'
      THEN COALESCE(
        nullIf(Attributes['user.email'], ''),
        nullIf(Attributes['user.account_uuid'], ''),
        nullIf(Attributes['user.id'], ''),
        '(no user)'
      )
      WHEN 'team'
      THEN COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(Attributes['team.id'], ''),
        '(no team.id)'
      )
      WHEN 'department'
      THEN COALESCE(
        nullIf(ResourceAttributes['department'], ''),
        nullIf(Attributes['department'], ''),
        '(no department)'
      )
      WHEN 'cost_center'
      THEN COALESCE(
        nullIf(ResourceAttributes['cost_center'], ''),
        nullIf(Attributes['cost_center'], ''),
        '(no cost_center)'
      )
      WHEN 'host'
      THEN COALESCE(nullIf(ResourceAttributes['host.name'], ''), '(no host.name)')
      WHEN 'version'
      THEN COALESCE(nullIf(Attributes['app.version'], ''), nullIf(ScopeVersion, ''), '(no version)')
      WHEN 'terminal'
      THEN COALESCE(nullIf(Attributes['terminal.type'], ''), '(no terminal)')
      WHEN 'session'
      THEN SessionId
      ELSE CAST(CAST(dateTrunc('DAY', toTimeZone(TimeUnix, {tz: String})) AS Nullable(DATE)) AS Nullable(String))
    END AS label,
    MetricName,
    SessionId,
    Type,
    TimeUnix,
    StartTimeUnix,
    Value,
    AggregationTemporality,
    SeriesKey AS series /* a series: one metric of one process with one attribute set, hashed as the row */ /* was stored (model/schema.py's SeriesKey; hashing the maps here read both for */ /* every point, and partitioning by the maps themselves costs 10x) */
  FROM otel_metrics_sum
  WHERE
    TimeUnix < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(
        nullIf(Attributes['vcs.repository.name'], ''),
        nullIf(ResourceAttributes['vcs.repository.name'], ''),
        nullIf(Attributes['vcs.repository.url.full'], ''),
        nullIf(ResourceAttributes['vcs.repository.url.full'], ''),
        '(no repository)'
      ) = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(Attributes['user.email'], ''),
        nullIf(Attributes['user.account_uuid'], ''),
        nullIf(Attributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(Attributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
    AND MetricName = 'claude_code.cost.usage'
    AND (
      {model: String} = '' OR Model = {model: String}
    )
), series_history AS (
  SELECT
    MetricName,
    SessionId,
    Type,
    TimeUnix,
    StartTimeUnix,
    Value,
    AggregationTemporality,
    SeriesKey AS series /* a series: one metric of one process with one attribute set, hashed as the row */ /* was stored (model/schema.py's SeriesKey; hashing the maps here read both for */ /* every point, and partitioning by the maps themselves costs 10x) */
  FROM otel_metrics_sum
  WHERE
    TimeUnix < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(
        nullIf(Attributes['vcs.repository.name'], ''),
        nullIf(ResourceAttributes['vcs.repository.name'], ''),
        nullIf(Attributes['vcs.repository.url.full'], ''),
        nullIf(ResourceAttributes['vcs.repository.url.full'], ''),
        '(no repository)'
      ) = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(Attributes['user.email'], ''),
        nullIf(Attributes['user.account_uuid'], ''),
        nullIf(Attributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(Attributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
    AND MetricName = 'claude_code.cost.usage'
    AND (
      {model: String} = '' OR Model = {model: String}
    )
), last_before AS (
  /* Of the points before `since`, the window needs only each series' last: the one the */
  /* first point after `since` grows from (every earlier point sorts before every later one, */
  /* TimeUnix first). Those at the series' last TimeUnix before `since` are kept (the window */
  /* orders ties), so `--since 7d` sorts a week of points, not all of them. Read from */
  /* series_history: a second reference to series_points made DuckDB materialize it */
  /* (all-time outcomes at 10M events +10%). */
  SELECT
    series AS before_series,
    MAX(TimeUnix) AS before_time
  FROM series_history
  WHERE
    TimeUnix < {since: DateTime64(9)}
  GROUP BY
    series
), window_points AS (
  SELECT
    p.*
  FROM series_points AS p
  LEFT JOIN last_before AS b
    ON b.before_series = p.series
  WHERE
    p.TimeUnix >= {since: DateTime64(9)} OR p.TimeUnix = b.before_time
), points AS (
  SELECT
    *,
    lag(CAST(Value AS Nullable(Float64))) OVER series_order AS prev_value, /* the casts make lag() NULL on a series' first point on both engines */
    lag(CAST(StartTimeUnix AS DateTime64(9))) OVER series_order AS prev_start
  FROM window_points
  WINDOW series_order AS (PARTITION BY series ORDER BY TimeUnix, StartTimeUnix, Value)
), increments AS (
  /* AggregationTemporality 1 is DELTA, 2 CUMULATIVE (OTLP's enum). */
  SELECT
    MetricName,
    SessionId,
    Type,
    TimeUnix,
    label,
    CASE
      WHEN AggregationTemporality = 1
      THEN Value
      WHEN prev_start IS NULL OR StartTimeUnix <> prev_start OR Value < prev_value
      THEN Value
      ELSE Value - prev_value
    END AS increment
  FROM points
  WHERE
    TimeUnix >= {since: DateTime64(9)}
), metric AS (
  SELECT
    CAST(dateTrunc({period: String}, toTimeZone(TimeUnix, {tz: String})) AS Nullable(DATE)) AS period_start,
    label AS model_name,
    SUM(increment) AS metric_cost_usd
  FROM increments
  GROUP BY
    period_start,
    model_name
), both_sources AS (
  SELECT
    period_start,
    model_name,
    requests,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_creation_tokens,
    cost_usd,
    0.0 AS metric_cost_usd
  FROM requests
  UNION ALL
  SELECT
    period_start,
    model_name,
    0,
    0,
    0,
    0,
    0,
    0.0,
    metric_cost_usd
  FROM metric
), by_period AS (
  SELECT
    period_start,
    model_name,
    CAST(SUM(requests) AS Nullable(Int64)) AS requests,
    CAST(SUM(input_tokens) AS Nullable(Int64)) AS input_tokens,
    CAST(SUM(output_tokens) AS Nullable(Int64)) AS output_tokens,
    CAST(SUM(cache_read_tokens) AS Nullable(Int64)) AS cache_read_tokens,
    CAST(SUM(cache_creation_tokens) AS Nullable(Int64)) AS cache_creation_tokens,
    SUM(cost_usd) AS cost_usd,
    SUM(metric_cost_usd) AS metric_cost_usd
  FROM both_sources
  GROUP BY
    period_start,
    model_name
), with_total AS (
  SELECT
    *,
    0 AS is_total
  FROM by_period
  UNION ALL
  SELECT
    NULL,
    'total',
    CAST(COALESCE(SUM(requests), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(input_tokens), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(output_tokens), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(cache_read_tokens), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(cache_creation_tokens), 0) AS Nullable(Int64)),
    COALESCE(SUM(cost_usd), 0),
    COALESCE(SUM(metric_cost_usd), 0),
    1
  FROM by_period
)
SELECT
  period_start AS period,
  model_name AS model,
  requests,
  input_tokens,
  output_tokens,
  cache_read_tokens,
  cache_creation_tokens,
  input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens AS total_tokens,
  cost_usd,
  metric_cost_usd,
  metric_cost_usd - cost_usd AS difference_usd
FROM with_total
ORDER BY
  is_total,
  period_start,
  model_name
SETTINGS join_use_nulls = 1
