-- The rest of the SELECT of series_points and series_history (after series_points' label):
-- the points of the per-session sum metrics, in the session and filters asked for, each
-- with its series.
        MetricName,
        SessionId,
        Type,
        TimeUnix,
        StartTimeUnix,
        Value,
        AggregationTemporality,
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
      -- a point's increment reads only the points before it, so later ones never count
      AND TimeUnix < $until
      AND ($session = '' OR SessionId = $session)
      -- include: metric_filter
