-- name: budget
-- description: Spend so far in the current day, week and month (api_request cost_usd), for `otelcap budget`, which passes each period's start in local time.
-- param: since timestamp 1970-01-01 events at or after this time (otelcap budget: the earliest period start)
-- param: until timestamp 2200-01-01 events before this time (otelcap budget: now)
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
-- param: day_start timestamp 1970-01-01 the day's start (otelcap budget: midnight, local time)
-- param: week_start timestamp 1970-01-01 the week's start (otelcap budget: Monday midnight, local time)
-- param: month_start timestamp 1970-01-01 the month's start (otelcap budget: the 1st at midnight, local time)
--
-- One row per period: spent_usd is the cost_usd of the api_request events from the period's
-- start (and `since`) until `until`, the same money as `cost`'s cost_usd; requests counts them.
-- The periods are parameters so that the caller decides the time zone: the starts are
-- instants (UTC, like every time in the pack), computed from a local clock by otelcap budget.
WITH spend AS (
    -- an aggregate without GROUP BY: one row even when nothing was spent
    SELECT
        coalesce(sum(CostUsd) FILTER (WHERE Timestamp >= $day_start), 0) AS day_usd,
        count(*) FILTER (WHERE Timestamp >= $day_start) AS day_requests,
        coalesce(sum(CostUsd) FILTER (WHERE Timestamp >= $week_start), 0) AS week_usd,
        count(*) FILTER (WHERE Timestamp >= $week_start) AS week_requests,
        coalesce(sum(CostUsd) FILTER (WHERE Timestamp >= $month_start), 0) AS month_usd,
        count(*) FILTER (WHERE Timestamp >= $month_start) AS month_requests
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
),
periods AS (
    SELECT 1 AS ord, 'day' AS period
    UNION ALL SELECT 2, 'week'
    UNION ALL SELECT 3, 'month'
)
-- one scan, named once (ClickHouse computes a CTE again wherever it is named)
SELECT
    p.period,
    CASE p.ord WHEN 1 THEN $day_start WHEN 2 THEN $week_start ELSE $month_start END
        AS period_start,
    CAST(CASE p.ord WHEN 1 THEN s.day_usd WHEN 2 THEN s.week_usd ELSE s.month_usd END AS DOUBLE)
        AS spent_usd,
    CAST(
        CASE p.ord WHEN 1 THEN s.day_requests WHEN 2 THEN s.week_requests ELSE s.month_requests END
        AS BIGINT
    ) AS requests
FROM periods AS p
CROSS JOIN spend AS s
ORDER BY p.ord
