-- Shared by sessions and outcomes: the per-session metric sums (active time, commits, pull
-- requests, lines of code) as increments. A delta point is an increment; a cumulative point
-- adds what it grew since the previous point of its series, or its whole value when the series
-- starts or resets (a `--continue` process re-sends the series from zero with a new start
-- time). Expanded where a query says `-- include: session_increments`.
series_points AS (
    SELECT
        MetricName,
        SessionId,
        Type,
        TimeUnix,
        StartTimeUnix,
        Value,
        AggregationTemporality,
        -- what _fragments/metric_group.sql reads (sessions-by groups the increments)
        Model, ScopeVersion, ResourceAttributes, Attributes,
        -- a series: one metric of one process with one attribute set, hashed as the row
        -- was stored (model/schema.py's SeriesKey; hashing the maps here read both for
        -- every point, and partitioning by the maps themselves costs 10x)
        SeriesKey AS series
    FROM otel_metrics_sum
    WHERE MetricName IN (
            'claude_code.active_time.total',
            'claude_code.commit.count',
            'claude_code.pull_request.count',
            'claude_code.lines_of_code.count'
        )
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: metric_filter
),
points AS (
    SELECT
        *,
        -- the casts make lag() NULL on a series' first point on both engines
        lag(CAST(Value AS DOUBLE)) OVER series_order AS prev_value,
        lag(CAST(StartTimeUnix AS TIMESTAMP_NS)) OVER series_order AS prev_start
    FROM series_points
    WINDOW series_order AS (PARTITION BY series ORDER BY TimeUnix, StartTimeUnix, Value)
),
increments AS (
    -- AggregationTemporality 1 is DELTA, 2 CUMULATIVE (OTLP's enum).
    SELECT
        MetricName,
        SessionId,
        Type,
        TimeUnix, Model, ScopeVersion, ResourceAttributes, Attributes,
        CASE
            WHEN AggregationTemporality = 1 THEN Value
            WHEN prev_start IS NULL OR StartTimeUnix <> prev_start OR Value < prev_value THEN Value
            ELSE Value - prev_value
        END AS increment
    FROM points
    WHERE TimeUnix >= $since AND TimeUnix < $until
),
