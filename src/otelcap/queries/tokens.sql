-- name: tokens
-- description: Tokens by type and model from api_request events, with the cache hit ratio (cache reads / all input tokens).
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
-- param: by model|project|user|team|department|cost_center|host|version|terminal|session|day model what the rows are per; the column keeps the name model
-- param: tz text UTC the IANA time zone of by=day (the CLI passes the local one)
--
-- All input = input_tokens + cache_read_tokens + cache_creation_tokens: what the model read.
-- A high cache hit ratio is what keeps long sessions cheap. The last row sums every model.
WITH by_model AS (
    SELECT
        -- include: log_group
        AS model_name,
        CAST(count(*) AS BIGINT) AS requests,
        CAST(coalesce(sum(InputTokens), 0) AS BIGINT) AS input_tokens,
        CAST(coalesce(sum(OutputTokens), 0) AS BIGINT) AS output_tokens,
        CAST(coalesce(sum(CacheReadTokens), 0) AS BIGINT) AS cache_read_tokens,
        CAST(coalesce(sum(CacheCreationTokens), 0) AS BIGINT) AS cache_creation_tokens
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
    GROUP BY model_name
),
with_total AS (
    SELECT *, 0 AS is_total FROM by_model
    UNION ALL
    SELECT
        'total',
        CAST(coalesce(sum(requests), 0) AS BIGINT),
        CAST(coalesce(sum(input_tokens), 0) AS BIGINT),
        CAST(coalesce(sum(output_tokens), 0) AS BIGINT),
        CAST(coalesce(sum(cache_read_tokens), 0) AS BIGINT),
        CAST(coalesce(sum(cache_creation_tokens), 0) AS BIGINT),
        1
    FROM by_model
)
SELECT
    model_name AS model,
    requests,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_creation_tokens,
    input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens AS total_tokens,
    cache_read_tokens / nullif(input_tokens + cache_read_tokens + cache_creation_tokens, 0) AS cache_hit_ratio,
    output_tokens / nullif(requests, 0) AS output_tokens_per_request
FROM with_total
ORDER BY is_total, total_tokens DESC, model_name
