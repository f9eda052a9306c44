-- name: cost
-- description: Cost and tokens per day, week or month and model from api_request events, reconciled with the claude_code.cost.usage metric.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
-- param: period day|week|month day bucket: day, week (ISO, from Monday) or month, in the time zone tz
-- param: by model|project|user|team|department|cost_center|host|version|terminal|session|day model what the rows are per, beside the period; the column keeps the name model
-- param: tz text UTC the IANA time zone of the buckets (the CLI passes the local one; --timezone, --utc)
--
-- cost_usd is the sum of api_request cost_usd, Claude Code's own price of each request.
-- metric_cost_usd is the same money counted by the claude_code.cost.usage metric: a delta
-- point is an increment; a cumulative point adds what it grew since the previous point of its
-- series, or its whole value when the series starts or resets (a `--continue` process
-- re-sends the series from zero with a new start time). difference_usd should be ~0; a gap
-- means lost events or lost metric points. The last row (period empty, model `total`) sums
-- the rest.
WITH request_quarters AS (
    -- per quarter hour (UTC) first: the zone's wall clock is then read once per quarter and
    -- group, not once per request (per request it was half of this query's instructions at
    -- 300k events: bench/queries.py --callgrind)
    SELECT
        time_bucket(INTERVAL 15 MINUTE, Timestamp) AS quarter_start,
        -- include: log_group
        AS model_name,
        count(*) AS requests,
        coalesce(sum(InputTokens), 0) AS input_tokens,
        coalesce(sum(OutputTokens), 0) AS output_tokens,
        coalesce(sum(CacheReadTokens), 0) AS cache_read_tokens,
        coalesce(sum(CacheCreationTokens), 0) AS cache_creation_tokens,
        coalesce(sum(CostUsd), 0) AS cost_usd
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
    GROUP BY quarter_start, model_name
),
quarters AS (
    SELECT DISTINCT quarter_start FROM request_quarters
),
-- include: quarter_days
quarter_periods AS MATERIALIZED (
    -- a quarter's requests share its period when they share its day (_fragments/
    -- quarter_days.sql); the other quarters' requests are bucketed one by one below.
    -- Named twice: materialized, or DuckDB reads each quarter's wall clock twice (1M: +14 %)
    SELECT quarter_start, CAST(date_trunc($period, day_start) AS DATE) AS period_start, whole
    FROM quarter_days
),
requests AS (
    SELECT
        p.period_start, r.model_name, r.requests, r.input_tokens, r.output_tokens,
        r.cache_read_tokens, r.cache_creation_tokens, r.cost_usd
    FROM request_quarters AS r
    JOIN quarter_periods AS p ON p.quarter_start = r.quarter_start
    WHERE p.whole
    UNION ALL
    -- the requests of the other quarters (none in most zones, most of the time), one by one
    SELECT
        CAST(date_trunc($period, timezone($tz, timezone('UTC', Timestamp))) AS DATE) AS period_start,
        -- include: log_group
        AS model_name,
        count(*) AS requests,
        coalesce(sum(InputTokens), 0) AS input_tokens,
        coalesce(sum(OutputTokens), 0) AS output_tokens,
        coalesce(sum(CacheReadTokens), 0) AS cache_read_tokens,
        coalesce(sum(CacheCreationTokens), 0) AS cache_creation_tokens,
        coalesce(sum(CostUsd), 0) AS cost_usd
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
      AND time_bucket(INTERVAL 15 MINUTE, Timestamp) IN (
          SELECT quarter_start FROM quarter_periods WHERE NOT whole
      )
    GROUP BY period_start, model_name
),
series_points AS (
    SELECT
        -- include: metric_group
        AS label,
        -- include: cost_points
),
series_history AS (
    SELECT
        -- include: cost_points
),
-- include: series_increments
metric AS (
    SELECT
        CAST(date_trunc($period, timezone($tz, timezone('UTC', TimeUnix))) AS DATE) AS period_start,
        label AS model_name,
        sum(increment) AS metric_cost_usd
    FROM increments
    GROUP BY period_start, model_name
),
both_sources AS (
    SELECT
        period_start, model_name, requests, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens, cost_usd, 0.0 AS metric_cost_usd
    FROM requests
    UNION ALL
    SELECT period_start, model_name, 0, 0, 0, 0, 0, 0.0, metric_cost_usd
    FROM metric
),
by_period AS (
    SELECT
        period_start,
        model_name,
        CAST(sum(requests) AS BIGINT) AS requests,
        CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
        CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
        CAST(sum(cache_read_tokens) AS BIGINT) AS cache_read_tokens,
        CAST(sum(cache_creation_tokens) AS BIGINT) AS cache_creation_tokens,
        sum(cost_usd) AS cost_usd,
        sum(metric_cost_usd) AS metric_cost_usd
    FROM both_sources
    GROUP BY period_start, model_name
),
with_total AS (
    SELECT *, 0 AS is_total FROM by_period
    UNION ALL
    SELECT
        NULL,
        'total',
        CAST(coalesce(sum(requests), 0) AS BIGINT),
        CAST(coalesce(sum(input_tokens), 0) AS BIGINT),
        CAST(coalesce(sum(output_tokens), 0) AS BIGINT),
        CAST(coalesce(sum(cache_read_tokens), 0) AS BIGINT),
        CAST(coalesce(sum(cache_creation_tokens), 0) AS BIGINT),
        coalesce(sum(cost_usd), 0),
        coalesce(sum(metric_cost_usd), 0),
        1
    FROM by_period
)
SELECT
    period_start AS period,
    model_name AS model,
    requests,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_creation_tokens,
    input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens AS total_tokens,
    cost_usd,
    metric_cost_usd,
    metric_cost_usd - cost_usd AS difference_usd
FROM with_total
ORDER BY is_total, period_start, model_name
