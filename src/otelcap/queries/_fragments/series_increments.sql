-- series_points (MetricName, SessionId, Type, TimeUnix, StartTimeUnix, Value,
-- AggregationTemporality, series and a label the including query gives) → increments. A delta
-- point is an increment; a cumulative point adds what it grew since the previous point of its
-- series, or its whole value when the series starts or resets (a `--continue` process
-- re-sends the series from zero with a new start time). The window carries only what it
-- orders by and a label, not the maps: sessions-by's group read from them after the window
-- made DuckDB sort both maps with every point (at 1M events, 186 → 151 ms).
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
        label,
        CASE
            WHEN AggregationTemporality = 1 THEN Value
            WHEN prev_start IS NULL OR StartTimeUnix <> prev_start OR Value < prev_value THEN Value
            ELSE Value - prev_value
        END AS increment
    FROM points
    WHERE TimeUnix >= $since AND TimeUnix < $until
),
