-- anomalies: rendered from queries/anomalies.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH call_times AS (
  SELECT
    Timestamp,
    toStartOfInterval(Timestamp, INTERVAL '15' MINUTE) AS quarter_start,
    EventName,
    CostUsd,
    CASE WHEN EventName = 'api_request' THEN DurationMs END AS request_ms
  FROM otel_logs
  WHERE
    EventName IN ('api_request', 'api_error')
    AND /* 56 days of baselines, and one more: a local day starts up to 14 h from a UTC one */ Timestamp >= dateTrunc('DAY', {since: DateTime64(9)}) - INTERVAL '57' DAY
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
), quarters AS (
  /* the zone's day read once per UTC quarter hour, not once per call (at 10M events, */
  /* Europe/Berlin: 862 → 509 ms; 1M, UTC: 129 → 107); the calls of a quarter that is not */
  /* whole are dated one by one below */
  SELECT DISTINCT
    quarter_start
  FROM call_times
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
), calls AS (
  SELECT
    CASE
      WHEN q.whole
      THEN q.day_start
      ELSE CAST(dateTrunc('DAY', toTimeZone(c.Timestamp, {tz: String})) AS Nullable(DATE))
    END AS call_day,
    c.EventName,
    c.CostUsd,
    c.request_ms
  FROM call_times AS c
  JOIN quarter_days AS q
    ON q.quarter_start = c.quarter_start
), per_day AS (
  SELECT
    call_day,
    COUNT(*) FILTER(WHERE
      EventName = 'api_request') AS requests,
    COUNT(*) FILTER(WHERE
      EventName = 'api_error') AS errors,
    COALESCE(SUM(CostUsd) FILTER(WHERE
      EventName = 'api_request'), 0) AS cost,
    COUNT(request_ms) AS timed,
    quantileExactInclusive(0.95)(request_ms) AS p95
  FROM calls
  GROUP BY
    call_day
), metric_names AS (
  SELECT
    'cost_usd' AS metric_name
  UNION ALL
  SELECT
    'api_error_rate'
  UNION ALL
  SELECT
    'api_duration_p95_ms'
), series AS (
  /* one row per day and metric. ClickHouse computes a CTE again wherever it is named, so */
  /* each step below names the one before it once or twice, never per metric. */
  SELECT
    d.call_day AS day,
    n.metric_name AS metric,
    CASE n.metric_name
      WHEN 'cost_usd'
      THEN CAST(d.cost AS Nullable(Float64))
      WHEN 'api_error_rate'
      THEN d.errors / (
        d.requests + d.errors
      )
      ELSE CAST(d.p95 AS Nullable(Float64))
    END AS value,
    CAST(CASE
      WHEN n.metric_name = 'api_duration_p95_ms'
      THEN d.timed
      ELSE d.requests + d.errors
    END AS Nullable(Int64)) AS calls,
    CASE n.metric_name
      WHEN 'cost_usd'
      THEN TRUE
      WHEN 'api_error_rate'
      THEN d.requests + d.errors >= {min_requests: Int64}
      ELSE d.timed >= {min_requests: Int64}
    END AS eligible
  FROM per_day AS d
  CROSS JOIN metric_names AS n
  WHERE
    n.metric_name <> 'api_duration_p95_ms' OR d.timed > 0
), pairs AS (
  /* each day with every judged day of its metric in the 56 days before it */
  SELECT
    day,
    metric,
    past,
    gap
  FROM (
    SELECT
      s.day,
      s.metric,
      h.value AS past,
      DATE_DIFF(DAY, h.day, s.day) AS gap
    FROM series AS s
    JOIN series AS h
      ON h.metric = s.metric
    WHERE
      h.eligible
  ) AS joined
  WHERE
    gap BETWEEN 1 AND 56
), medians AS (
  /* both baselines at once: the previous 28 days, and the same weekday of 8 weeks */
  SELECT
    day AS median_day,
    metric AS median_metric,
    COUNT(*) FILTER(WHERE
      gap <= 28) AS trailing_days,
    quantileExactInclusive(0.5)(CASE WHEN gap <= 28 THEN past END) AS trailing_median,
    COUNT(*) FILTER(WHERE
      gap % 7 = 0) AS weekday_days,
    quantileExactInclusive(0.5)(CASE WHEN gap % 7 = 0 THEN past END) AS weekday_median
  FROM pairs
  GROUP BY
    day,
    metric
), spreads AS (
  /* DuckDB's mad() written out, median(|x - median(x)|), so both engines compute it exactly */
  SELECT
    p.day AS spread_day,
    p.metric AS spread_metric,
    m.trailing_days,
    m.trailing_median,
    quantileExactInclusive(0.5)(CASE WHEN p.gap <= 28 THEN ABS(p.past - m.trailing_median) END) AS trailing_mad,
    m.weekday_days,
    m.weekday_median,
    quantileExactInclusive(0.5)(CASE WHEN p.gap % 7 = 0 THEN ABS(p.past - m.weekday_median) END) AS weekday_mad
  FROM pairs AS p
  JOIN medians AS m
    ON m.median_day = p.day AND m.median_metric = p.metric
  GROUP BY
    p.day,
    p.metric,
    m.trailing_days,
    m.trailing_median,
    m.weekday_days,
    m.weekday_median
), judged AS (
  SELECT
    s.day AS day,
    s.metric AS metric,
    s.value AS value,
    s.calls AS calls,
    s.eligible AS eligible,
    CAST(COALESCE(sp.trailing_days, 0) AS Nullable(Int64)) AS history_days,
    s.eligible AND COALESCE(sp.trailing_days, 0) >= {min_history: Int64} AS has_baseline,
    COALESCE(sp.trailing_days >= 21 AND sp.weekday_days >= 3, FALSE) AS by_weekday, /* a weekly rhythm to follow once 21 of the 28 days are judged days, and 3 or more of */ /* the 8 same weekdays before are */
    sp.trailing_median,
    sp.trailing_mad,
    sp.weekday_median,
    sp.weekday_mad
  FROM series AS s
  LEFT JOIN spreads AS sp
    ON sp.spread_day = s.day AND sp.spread_metric = s.metric
  /* since's day in tz; since is kept after 1970-01-02, because ClickHouse's DATE wraps a */
  /* day before 1970 (1969-12-31 in Honolulu, for the default since) round to 2149 */
  WHERE
    s.day >= CAST(dateTrunc(
      'DAY',
      toTimeZone(
        GREATEST({since: DateTime64(9)}, CAST('1970-01-02' AS Nullable(DateTime))),
        {tz: String}
      )
    ) AS Nullable(DATE))
), chosen AS (
  SELECT
    day,
    metric,
    value,
    calls,
    eligible,
    history_days,
    has_baseline,
    CASE
      WHEN by_weekday
      THEN 'same weekday, previous 8 weeks'
      ELSE 'previous 28 days'
    END AS baseline_kind,
    CASE WHEN by_weekday THEN weekday_median ELSE trailing_median END AS base_median,
    CASE WHEN by_weekday THEN weekday_mad ELSE trailing_mad END AS base_mad
  FROM judged
), scored AS (
  SELECT
    *,
    CASE
      WHEN has_baseline
      THEN GREATEST(
        base_mad,
        0.1 * ABS(base_median),
        CASE metric WHEN 'cost_usd' THEN 0.25 WHEN 'api_error_rate' THEN 0.02 ELSE 100.0 END
      )
    END AS mad_floored
  FROM chosen
), final AS (
  SELECT
    *,
    CASE WHEN has_baseline THEN 0.6745 * (
      value - base_median
    ) / mad_floored END AS m
  FROM scored
), first_seen AS (
  SELECT
    'version' AS kind,
    AppVersion AS name,
    MIN(Timestamp) AS first_at
  FROM otel_logs
  WHERE
    EventName = 'api_request'
    AND AppVersion <> ''
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
    AppVersion
  UNION ALL
  SELECT
    'model',
    Model,
    MIN(Timestamp)
  FROM otel_logs
  WHERE
    EventName = 'api_request'
    AND Model <> ''
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
    Model
), firsts AS (
  SELECT
    kind,
    name,
    CAST(dateTrunc('DAY', toTimeZone(first_at, {tz: String})) AS Nullable(DATE)) AS first_day
  FROM first_seen
), new_versions AS (
  SELECT
    first_day AS version_day,
    arrayStringConcat(arraySort(groupUniqArray(name)), ', ') AS names
  FROM firsts
  WHERE
    kind = 'version'
  GROUP BY
    first_day
), new_models AS (
  SELECT
    first_day AS model_day,
    arrayStringConcat(arraySort(groupUniqArray(name)), ', ') AS names
  FROM firsts
  WHERE
    kind = 'model'
  GROUP BY
    first_day
)
SELECT
  f.day,
  f.metric,
  f.value,
  f.calls,
  f.history_days,
  CASE WHEN f.has_baseline THEN f.baseline_kind ELSE '' END AS baseline,
  CASE WHEN f.has_baseline THEN f.base_median END AS baseline_median,
  CASE WHEN f.has_baseline THEN f.base_mad END AS mad,
  f.mad_floored AS mad_used,
  f.m AS m_score,
  CAST(COALESCE(
    f.has_baseline
    AND (
      CASE WHEN f.metric = 'cost_usd' THEN f.m ELSE ABS(f.m) END
    ) > {threshold: Float64},
    FALSE
  ) AS Nullable(Bool)) AS flagged, /* a Bool on both engines (ClickHouse's AND answers UInt8) */
  CASE
    WHEN NOT f.eligible
    THEN 'too few model calls: ' || CAST(f.calls AS Nullable(String)) || ' of ' || CAST({min_requests: Int64} AS Nullable(String))
    WHEN NOT f.has_baseline
    THEN 'too little history: ' || CAST(f.history_days AS Nullable(String)) || ' of ' || CAST({min_history: Int64} AS Nullable(String)) || ' days'
    WHEN f.m > {threshold: Float64}
    THEN 'above the baseline'
    WHEN f.m < -{threshold: Float64} AND f.metric = 'cost_usd'
    THEN 'below the baseline (only rises are flagged for cost)'
    WHEN f.m < -{threshold: Float64}
    THEN 'below the baseline'
    ELSE 'within the baseline'
  END AS reason,
  COALESCE(nv.names, '') AS new_versions,
  COALESCE(nm.names, '') AS new_models
FROM final AS f
LEFT JOIN new_versions AS nv
  ON nv.version_day = f.day
LEFT JOIN new_models AS nm
  ON nm.model_day = f.day
ORDER BY
  f.day,
  f.metric
SETTINGS join_use_nulls = 1
