-- name: tool-usage
-- description: Per tool: calls, success rate, p50/p95 duration, and how often it was rejected and by whom (config, hook, user).
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team
--
-- A call is a tool_result event; a rejected tool gets a tool_decision (reject) and no
-- tool_result, so the reject rate is over decisions. Durations are exact percentiles
-- (quantile_cont; quantileExactInclusive on ClickHouse). Decision sources: config (settings
-- allow/deny rules), hook (a PreToolUse hook), user_reject / user_abort (the person).
-- No model filter: tool events carry no model.
WITH ev AS (
    SELECT ToolName, EventName, Success, DurationMs, Decision, DecisionSource
    FROM otel_logs
    WHERE EventName IN ('tool_result', 'tool_decision')
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
),
by_tool AS (
    SELECT
        ToolName AS tool,
        count(*) FILTER (WHERE EventName = 'tool_result') AS calls,
        count(*) FILTER (WHERE EventName = 'tool_result' AND Success = true) AS succeeded,
        count(*) FILTER (WHERE EventName = 'tool_result' AND Success = false) AS failed,
        -- both levels from one sort of the durations
        count(CASE WHEN EventName = 'tool_result' THEN DurationMs END) AS with_duration,
        quantile_cont(
            CASE WHEN EventName = 'tool_result' THEN DurationMs END, [0.5, 0.95]
        ) AS duration_levels,
        count(*) FILTER (WHERE EventName = 'tool_decision') AS decisions,
        count(*) FILTER (WHERE EventName = 'tool_decision' AND Decision = 'reject') AS rejected,
        count(*) FILTER (
            WHERE EventName = 'tool_decision' AND Decision = 'reject' AND DecisionSource = 'config'
        ) AS rejected_by_config,
        count(*) FILTER (
            WHERE EventName = 'tool_decision' AND Decision = 'reject' AND DecisionSource = 'hook'
        ) AS rejected_by_hook,
        count(*) FILTER (
            WHERE EventName = 'tool_decision' AND Decision = 'reject' AND DecisionSource LIKE 'user%'
        ) AS rejected_by_user
    FROM ev
    GROUP BY ToolName
)
SELECT
    tool,
    calls,
    succeeded,
    failed,
    succeeded / nullif(calls, 0) AS success_rate,
    -- over no values DuckDB answers NULL and ClickHouse nan: say NULL on both
    CASE WHEN with_duration > 0 THEN duration_levels[1] END AS p50_ms,
    CASE WHEN with_duration > 0 THEN duration_levels[2] END AS p95_ms,
    decisions,
    rejected,
    rejected / nullif(decisions, 0) AS reject_rate,
    rejected_by_config,
    rejected_by_hook,
    rejected_by_user,
    rejected - rejected_by_config - rejected_by_hook - rejected_by_user AS rejected_other
FROM by_tool
ORDER BY calls + rejected DESC, tool
