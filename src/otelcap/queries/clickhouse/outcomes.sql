-- outcomes: rendered from queries/outcomes.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH by_session AS (
  /* every session with an event in the window, as in sessions; cost from its requests */
  SELECT
    SessionId AS session_id,
    COALESCE(SUM(CostUsd) FILTER(WHERE
      EventName = 'api_request'), 0) AS cost_usd
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
  GROUP BY
    SessionId
), series_points /* Its own points, not session_increments': outcomes needs no active time, whose points */ /* (half of the four metrics' at 10M bench events) the series window would sort for nothing. */ AS (
  SELECT
    '' AS label,
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
), metrics_by_session AS (
  SELECT
    SessionId AS metric_session,
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
    SessionId
), sessions AS (
  SELECT
    s.session_id,
    s.cost_usd,
    COALESCE(m.commits, 0) AS session_commits,
    COALESCE(m.pull_requests, 0) AS session_prs,
    COALESCE(m.lines_added, 0) AS session_lines_added,
    COALESCE(m.lines_removed, 0) AS session_lines_removed,
    CASE
      WHEN COALESCE(m.commits, 0) > 0 OR COALESCE(m.pull_requests, 0) > 0
      THEN 'productive'
      ELSE 'wasted'
    END AS outcome_name
  FROM by_session AS s
  LEFT JOIN metrics_by_session AS m
    ON m.metric_session = s.session_id
), by_outcome AS (
  SELECT
    outcome_name,
    0 AS is_total,
    CAST(COUNT(*) AS Nullable(Int64)) AS session_count,
    SUM(cost_usd) AS outcome_cost,
    CAST(SUM(session_commits) AS Nullable(Int64)) AS commit_count,
    CAST(SUM(session_prs) AS Nullable(Int64)) AS pr_count,
    CAST(SUM(session_lines_added) AS Nullable(Int64)) AS added,
    CAST(SUM(session_lines_removed) AS Nullable(Int64)) AS removed
  FROM sessions
  GROUP BY
    outcome_name
  UNION ALL
  /* an aggregate without GROUP BY: the `all` row is there even over no sessions */
  SELECT
    'all',
    1,
    CAST(COUNT(*) AS Nullable(Int64)),
    COALESCE(SUM(cost_usd), 0),
    CAST(COALESCE(SUM(session_commits), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(session_prs), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(session_lines_added), 0) AS Nullable(Int64)),
    CAST(COALESCE(SUM(session_lines_removed), 0) AS Nullable(Int64))
  FROM sessions
)
SELECT
  o.outcome_name AS outcome,
  o.session_count AS sessions,
  o.session_count / nullIf(t.total_sessions, 0) AS session_share,
  o.outcome_cost AS cost_usd,
  o.outcome_cost / nullIf(t.total_cost, 0) AS cost_share,
  o.commit_count AS commits,
  o.pr_count AS pull_requests,
  o.added AS lines_added,
  o.removed AS lines_removed,
  o.outcome_cost / nullIf(o.commit_count, 0) AS cost_per_commit_usd,
  o.added / nullIf(o.outcome_cost, 0) AS lines_per_usd
FROM by_outcome AS o
CROSS JOIN (
  SELECT
    SUM(session_count) AS total_sessions,
    SUM(outcome_cost) AS total_cost
  FROM by_outcome
  WHERE
    is_total = 0
) AS t
ORDER BY
  o.is_total,
  o.outcome_name
SETTINGS join_use_nulls = 1
