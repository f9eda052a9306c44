-- The rest of the SELECT of a series_points or series_history CTE (after series_points'
-- label): otel_metrics_sum points before `until` (a point's increment reads only the points
-- before it, so later ones never count) in the session and filters asked for, each with its
-- series; the fragment that includes it adds which metrics.
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
    WHERE TimeUnix < $until
      AND ($session = '' OR SessionId = $session)
      -- include: metric_filter
