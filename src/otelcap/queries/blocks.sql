-- name: blocks
-- description: Cost and tokens per 5-hour block, the window Claude plans meter usage in, with the active block's burn rate and projected cost at its end.
-- param: since timestamp 1970-01-01 requests at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 requests before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
-- param: at timestamp now the moment that decides which block is active
--
-- Blocks are counted as ccusage counts them: a block starts at the hour (UTC) of the first
-- api_request after the previous block ended and lasts 5 hours, so idle time does not start a
-- block and a block never holds more than 5 hours of requests. state is `active` for the
-- block that holds `at`; for it, burn_usd_per_hour is its cost over the time from its first
-- request to `at` (at least one minute), and projected_cost_usd adds that rate until the
-- block ends. Tokens are input + output + cache read + cache creation.
WITH RECURSIVE requests AS (
    SELECT
        Timestamp AS ts,
        date_trunc('hour', Timestamp) AS hour_start,
        coalesce(InputTokens, 0) + coalesce(OutputTokens, 0) + coalesce(CacheReadTokens, 0)
            + coalesce(CacheCreationTokens, 0) AS tokens,
        coalesce(InputTokens, 0) AS input_tokens,
        coalesce(OutputTokens, 0) AS output_tokens,
        coalesce(CostUsd, 0) AS cost
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
),
hours AS (
    SELECT DISTINCT hour_start FROM requests
),
successors AS MATERIALIZED (
    -- each hour's next block start, were a block to start at it: the first hour at least 5
    -- hours later. Read once, so each step of starts is one lookup, not a min over every
    -- hour (DuckDB, interleaved runs: 1M events 164 → 63 ms, 10M 464 → 299). Only DuckDB's:
    -- ClickHouse's starts is a fold that needs no successors
    SELECT
        hour_start,
        min(hour_start) OVER (
            ORDER BY hour_start RANGE BETWEEN INTERVAL 5 HOUR FOLLOWING AND UNBOUNDED FOLLOWING
        ) AS following_start
    FROM hours
),
starts AS (
    -- the first block starts with the first request; each next one with the first request
    -- at least 5 hours after the previous block's start (one step per block; ClickHouse
    -- folds over the hours instead: querybuild.CLICKHOUSE_CTES)
    SELECT min(hour_start) AS start_hour FROM hours HAVING count(*) > 0
    UNION ALL
    SELECT successors.following_start
    FROM starts
    JOIN successors ON successors.hour_start = starts.start_hour
    WHERE successors.following_start IS NOT NULL
),
hour_block AS (
    -- each hour's block: the latest start at or before it. Every start is one of the hours,
    -- so that is a running max over the hours in order (a join of every hour with every
    -- start before it made 4.7M pairs at 1M events)
    SELECT
        hours.hour_start,
        max(starts.start_hour) OVER (
            ORDER BY hours.hour_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS hour_block_start
    FROM hours
    LEFT JOIN starts ON starts.start_hour = hours.hour_start
),
per_block AS (
    SELECT
        b.hour_block_start AS block_start,
        count(*) AS requests,
        CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens,
        CAST(sum(r.output_tokens) AS BIGINT) AS output_tokens,
        CAST(sum(r.tokens) AS BIGINT) AS total_tokens,
        sum(r.cost) AS cost_usd,
        min(r.ts) AS first_request,
        max(r.ts) AS last_request
    FROM requests AS r
    JOIN hour_block AS b ON r.hour_start = b.hour_start
    GROUP BY b.hour_block_start
),
shaped AS (
    SELECT
        *,
        block_start + INTERVAL 5 HOUR AS block_end,
        $at >= block_start AND $at < block_start + INTERVAL 5 HOUR AS is_active,
        greatest(date_diff('millisecond', first_request, $at) / 3600000.0, 1 / 60.0) AS hours_in
    FROM per_block
)
SELECT
    block_start,
    block_end,
    CASE WHEN is_active THEN 'active' ELSE '' END AS state,
    requests,
    input_tokens,
    output_tokens,
    total_tokens,
    cost_usd,
    first_request,
    last_request,
    CASE WHEN is_active THEN cost_usd / hours_in END AS burn_usd_per_hour,
    CASE
        WHEN is_active
            THEN cost_usd + cost_usd / hours_in * date_diff('millisecond', $at, block_end) / 3600000.0
    END AS projected_cost_usd
FROM shaped
ORDER BY block_start
