-- sessions: rendered from queries/sessions.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH by_session AS (
  SELECT
    SessionId AS session_id,
    MIN(Timestamp) AS started,
    MAX(Timestamp) AS ended,
    COUNT(*) FILTER(WHERE
      EventName = 'user_prompt') AS prompts,
    COUNT(*) FILTER(WHERE
      EventName = 'api_request') AS api_requests,
    COUNT(*) FILTER(WHERE
      EventName = 'api_error') AS api_errors,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result') AS tool_calls,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result' AND Success = FALSE) AS tool_failures,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision' AND Decision = 'reject') AS rejections
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
), by_request AS (
  /* tokens and cost from the requests alone: a third of the rows */
  SELECT
    SessionId AS request_session,
    CAST(COALESCE(SUM(InputTokens), 0) AS Nullable(Int64)) AS input_tokens,
    CAST(COALESCE(SUM(OutputTokens), 0) AS Nullable(Int64)) AS output_tokens,
    CAST(COALESCE(SUM(CacheReadTokens), 0) AS Nullable(Int64)) AS cache_read_tokens,
    CAST(COALESCE(SUM(CacheCreationTokens), 0) AS Nullable(Int64)) AS cache_creation_tokens,
    COALESCE(SUM(CostUsd), 0) AS cost_usd
  FROM otel_logs
  WHERE
    EventName = 'api_request'
    AND Timestamp >= {since: DateTime64(9)}
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
), by_prompt AS (
  /* the version and terminal of the session's last prompt (a `--continue` may run a */
  /* newer version than the start did) */
  SELECT
    SessionId AS prompt_session,
    argMax(AppVersion, Timestamp) AS last_app_version,
    argMax(TerminalType, Timestamp) AS last_terminal,
    MAX(nullIf(Repository, '')) AS last_project /* the repository, as --by project reads it (_fragments/log_project.sql); Claude */ /* Code sends vcs.* only with OTEL_METRICS_INCLUDE_REPOSITORY=true */
  FROM otel_logs
  WHERE
    EventName = 'user_prompt'
    AND Timestamp >= {since: DateTime64(9)}
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
), session_models AS (
  SELECT
    model_session,
    arrayStringConcat(arraySort(groupUniqArray(model_name)), ', ') AS models
  FROM (
    SELECT
      SessionId AS model_session,
      Model AS model_name
    FROM otel_logs
    WHERE
      EventName IN ('api_request', 'api_error')
      AND Model <> ''
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
    GROUP BY
      SessionId,
      Model
  ) AS pairs
  GROUP BY
    model_session
), series_points AS (
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
), metrics_by_session AS (
  SELECT
    SessionId AS metric_session,
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
    SessionId
)
SELECT
  s.session_id,
  COALESCE(p.last_project, '(no repository)') AS project,
  COALESCE(p.last_app_version, '') AS app_version,
  s.started,
  s.ended,
  DATE_DIFF(MILLISECOND, s.started, s.ended) / 1000.0 AS duration_s,
  COALESCE(m.active_time_s, 0) AS active_time_s,
  s.prompts,
  s.api_requests,
  s.api_errors,
  COALESCE(sm.models, '') AS models,
  COALESCE(r.input_tokens, 0) AS input_tokens,
  COALESCE(r.output_tokens, 0) AS output_tokens,
  COALESCE(r.cache_read_tokens, 0) AS cache_read_tokens,
  COALESCE(r.cache_creation_tokens, 0) AS cache_creation_tokens,
  COALESCE(r.cost_usd, 0) AS cost_usd,
  s.tool_calls,
  s.tool_failures,
  s.rejections,
  COALESCE(m.commits, 0) AS commits,
  COALESCE(m.pull_requests, 0) AS pull_requests,
  COALESCE(m.lines_added, 0) AS lines_added,
  COALESCE(m.lines_removed, 0) AS lines_removed,
  COALESCE(p.last_terminal, '') AS terminal
FROM by_session AS s
LEFT JOIN by_request AS r
  ON r.request_session = s.session_id
LEFT JOIN by_prompt AS p
  ON p.prompt_session = s.session_id
LEFT JOIN session_models AS sm
  ON sm.model_session = s.session_id
LEFT JOIN metrics_by_session AS m
  ON m.metric_session = s.session_id
ORDER BY
  s.started,
  s.session_id
SETTINGS join_use_nulls = 1
