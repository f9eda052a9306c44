-- name: _ops/statusline-cost
-- description: the money on Claude Code's status line (otelcap statusline): the api_request cost of one session and of one local day, summed as `query cost` sums its cost_usd
-- param: session text '' the session id ('' = none: its cost is 0)
-- param: since timestamp 1970-01-01 the local day's start (UTC)
-- param: until timestamp 2200-01-01 the next day's start (UTC)
--
-- One scan for both sums: the status line runs after each assistant message, and the pack's
-- `cost` reconciles metrics too, which costs it ~60 ms per call on 20k events.
SELECT
    coalesce(sum(CASE WHEN SessionId = $session THEN CostUsd END), 0) AS session_cost_usd,
    coalesce(sum(CASE WHEN Timestamp >= $since AND Timestamp < $until THEN CostUsd END), 0)
        AS today_cost_usd
FROM otel_logs
WHERE EventName = 'api_request'
  AND (SessionId = $session OR (Timestamp >= $since AND Timestamp < $until))
