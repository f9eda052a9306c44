-- sessions-by: rendered from queries/sessions-by.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH records AS (
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
    END AS group_name,
    SessionId,
    EventName,
    Success,
    Decision,
    Timestamp,
    CostUsd,
    InputTokens,
    OutputTokens,
    CacheReadTokens,
    CacheCreationTokens
  FROM otel_logs
  WHERE
    Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND SessionId <> ''
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
), per_session AS (
  /* per (group, session) first: count(DISTINCT SessionId) beside the other aggregates made */
  /* DuckDB materialize every record for a second aggregation (at 1M events, callgrind: */
  /* 1,726 → 1,541 M instructions for the whole query) */
  SELECT
    group_name,
    MIN(Timestamp) AS first_event,
    MAX(Timestamp) AS last_event,
    COUNT(*) FILTER(WHERE
      EventName = 'user_prompt') AS prompts,
    COUNT(*) FILTER(WHERE
      EventName = 'api_request') AS api_requests,
    COUNT(*) FILTER(WHERE
      EventName = 'api_error') AS api_errors,
    SUM(InputTokens) FILTER(WHERE
      EventName = 'api_request') AS input_tokens,
    SUM(OutputTokens) FILTER(WHERE
      EventName = 'api_request') AS output_tokens,
    SUM(CacheReadTokens) FILTER(WHERE
      EventName = 'api_request') AS cache_read_tokens,
    SUM(CacheCreationTokens) FILTER(WHERE
      EventName = 'api_request') AS cache_creation_tokens,
    SUM(CostUsd) FILTER(WHERE
      EventName = 'api_request') AS cost_usd,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result') AS tool_calls,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result' AND Success = FALSE) AS tool_failures,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision' AND Decision = 'reject') AS rejections
  FROM records
  GROUP BY
    group_name,
    SessionId
), by_group AS (
  SELECT
    group_name,
    CAST(COUNT(*) AS Nullable(Int64)) AS sessions,
    MIN(first_event) AS first_event,
    MAX(last_event) AS last_event,
    CAST(SUM(prompts) AS Nullable(Int64)) AS prompts,
    CAST(SUM(api_requests) AS Nullable(Int64)) AS api_requests,
    CAST(SUM(api_errors) AS Nullable(Int64)) AS api_errors,
    CAST(COALESCE(SUM(input_tokens), 0) AS Nullable(Int64)) AS input_tokens,
    CAST(COALESCE(SUM(output_tokens), 0) AS Nullable(Int64)) AS output_tokens,
    CAST(COALESCE(SUM(cache_read_tokens), 0) AS Nullable(Int64)) AS cache_read_tokens,
    CAST(COALESCE(SUM(cache_creation_tokens), 0) AS Nullable(Int64)) AS cache_creation_tokens,
    COALESCE(SUM(cost_usd), 0) AS cost_usd,
    CAST(SUM(tool_calls) AS Nullable(Int64)) AS tool_calls,
    CAST(SUM(tool_failures) AS Nullable(Int64)) AS tool_failures,
    CAST(SUM(rejections) AS Nullable(Int64)) AS rejections
  FROM per_session
  GROUP BY
    group_name
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
    END AS label, /* the point's group, as cost --by gives a metric point's (before the window, so the */ /* window carries a label instead of both maps) */
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
    AND MetricName IN (
      'claude_code.active_time.total',
      'claude_code.commit.count',
      'claude_code.pull_request.count',
      'claude_code.lines_of_code.count'
    )
    AND SessionId <> ''
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
    AND MetricName IN (
      'claude_code.active_time.total',
      'claude_code.commit.count',
      'claude_code.pull_request.count',
      'claude_code.lines_of_code.count'
    )
    AND SessionId <> ''
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
), metrics_by_group AS (
  SELECT
    label AS metric_group_name,
    COALESCE(SUM(increment) FILTER(WHERE
      MetricName = 'claude_code.active_time.total'), 0) AS active_time_s,
    CAST(COALESCE(SUM(increment) FILTER(WHERE
      MetricName = 'claude_code.commit.count'), 0) AS Nullable(Int64)) AS commits, /* counts travel as doubles; their sums are whole numbers, so the cast is exact */
    CAST(COALESCE(SUM(increment) FILTER(WHERE
      MetricName = 'claude_code.pull_request.count'), 0) AS Nullable(Int64)) AS pull_requests,
    CAST(COALESCE(
      SUM(increment) FILTER(WHERE
        MetricName = 'claude_code.lines_of_code.count' AND Type = 'added'),
      0
    ) AS Nullable(Int64)) AS lines_added,
    CAST(COALESCE(
      SUM(increment) FILTER(WHERE
        MetricName = 'claude_code.lines_of_code.count' AND Type = 'removed'),
      0
    ) AS Nullable(Int64)) AS lines_removed
  FROM increments
  GROUP BY
    label
)
SELECT
  g.group_name AS model,
  g.sessions,
  g.first_event,
  g.last_event,
  COALESCE(m.active_time_s, 0) AS active_time_s,
  g.prompts,
  g.api_requests,
  g.api_errors,
  g.input_tokens,
  g.output_tokens,
  g.cache_read_tokens,
  g.cache_creation_tokens,
  g.cost_usd,
  g.tool_calls,
  g.tool_failures,
  g.rejections,
  COALESCE(m.commits, 0) AS commits,
  COALESCE(m.pull_requests, 0) AS pull_requests,
  COALESCE(m.lines_added, 0) AS lines_added,
  COALESCE(m.lines_removed, 0) AS lines_removed
FROM by_group AS g
LEFT JOIN metrics_by_group AS m
  ON m.metric_group_name = g.group_name
ORDER BY
  g.cost_usd DESC,
  g.group_name
SETTINGS join_use_nulls = 1
