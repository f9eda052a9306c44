-- name: api-latency
-- description: API request duration and time-to-first-token percentiles (p50, p90, p95, p99, max) by model.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
--
-- From api_request events: duration_ms is the whole request, ttft_ms (an attribute, not a
-- promoted column) the wait for the first token. Exact percentiles on both engines.
WITH req AS (
    SELECT
        Model,
        DurationMs,
        TtftMs AS ttft_ms
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
),
by_model AS (
    -- one sort per column for all four levels
    SELECT
        Model AS model_name,
        count(*) AS requests,
        count(DurationMs) AS with_duration,
        quantile_cont(DurationMs, [0.5, 0.9, 0.95, 0.99]) AS duration_levels,
        max(DurationMs) AS duration_max_ms,
        count(ttft_ms) AS with_ttft,
        quantile_cont(ttft_ms, [0.5, 0.9, 0.95, 0.99]) AS ttft_levels,
        max(ttft_ms) AS ttft_max_ms
    FROM req
    GROUP BY Model
)
SELECT
    model_name AS model,
    requests,
    -- over no values DuckDB answers NULL and ClickHouse nan: say NULL on both
    CASE WHEN with_duration > 0 THEN duration_levels[1] END AS duration_p50_ms,
    CASE WHEN with_duration > 0 THEN duration_levels[2] END AS duration_p90_ms,
    CASE WHEN with_duration > 0 THEN duration_levels[3] END AS duration_p95_ms,
    CASE WHEN with_duration > 0 THEN duration_levels[4] END AS duration_p99_ms,
    duration_max_ms,
    with_ttft,
    CASE WHEN with_ttft > 0 THEN ttft_levels[1] END AS ttft_p50_ms,
    CASE WHEN with_ttft > 0 THEN ttft_levels[2] END AS ttft_p90_ms,
    CASE WHEN with_ttft > 0 THEN ttft_levels[3] END AS ttft_p95_ms,
    CASE WHEN with_ttft > 0 THEN ttft_levels[4] END AS ttft_p99_ms,
    ttft_max_ms
FROM by_model
ORDER BY requests DESC, model_name
