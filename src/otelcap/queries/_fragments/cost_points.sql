-- The rest of the SELECT of cost's series_points and series_history (after series_points'
-- label): the claude_code.cost.usage points in the session and filters asked for, each with
-- its series (_fragments/series_increments.sql turns them into increments).
        MetricName,
        SessionId,
        Type,
        TimeUnix,
        StartTimeUnix,
        Value,
        AggregationTemporality,
        -- a series: one metric of one process with one attribute set, hashed as the row
        -- was stored (model/schema.py's SeriesKey)
        SeriesKey AS series
    FROM otel_metrics_sum
    WHERE MetricName = 'claude_code.cost.usage'
      -- a point's increment reads only the points before it, so later ones never count
      AND TimeUnix < $until
      AND ($session = '' OR SessionId = $session)
      -- include: metric_filter
      -- include: model_filter
