-- name: regressions
-- description: Failure rates by Claude Code version and model: API errors per model call, tool failures per call, rejections per decision, failed turns per turn.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
--
-- Each turn (prompt.id) is counted under the version that ran it and the model of its first
-- model call, so tool failures and rejections (events without a model) land on the model that
-- drove them. Rows are ordered by when a version was first seen: a rate that jumps from one
-- row to the next is a regression to look at. Events outside any prompt (session start-up)
-- are left out.
-- The model filter keeps the turns whose first model call used it (the model column).
WITH turns AS (
    SELECT
        SessionId,
        PromptId,
        max(AppVersion) AS version_name,
        coalesce(arg_min(Model, EventSequence) FILTER (WHERE Model <> ''), '') AS turn_model,
        count(*) FILTER (WHERE EventName = 'api_request') AS turn_api_requests,
        count(*) FILTER (WHERE EventName = 'api_error') AS turn_api_errors,
        count(*) FILTER (WHERE EventName = 'tool_result') AS turn_tool_calls,
        count(*) FILTER (WHERE EventName = 'tool_result' AND Success = false) AS turn_tool_failures,
        count(*) FILTER (WHERE EventName = 'tool_decision') AS turn_decisions,
        count(*) FILTER (WHERE EventName = 'tool_decision' AND Decision = 'reject') AS turn_rejections,
        min(Timestamp) AS first_at,
        max(Timestamp) AS last_at
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND PromptId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY SessionId, PromptId
),
by_version AS (
    SELECT
        version_name,
        turn_model,
        count(DISTINCT SessionId) AS sessions,
        count(*) AS prompts,
        count(*) FILTER (
            WHERE turn_api_errors > 0 OR turn_tool_failures > 0 OR turn_rejections > 0
        ) AS failed_turns,
        CAST(sum(turn_api_requests) AS BIGINT) AS api_requests,
        CAST(sum(turn_api_errors) AS BIGINT) AS api_errors,
        CAST(sum(turn_tool_calls) AS BIGINT) AS tool_calls,
        CAST(sum(turn_tool_failures) AS BIGINT) AS tool_failures,
        CAST(sum(turn_decisions) AS BIGINT) AS decisions,
        CAST(sum(turn_rejections) AS BIGINT) AS rejections,
        min(first_at) AS first_seen,
        max(last_at) AS last_seen
    FROM turns
    WHERE $model = '' OR turn_model = $model  -- a turn's model is its first model call's
    GROUP BY version_name, turn_model
)
SELECT
    version_name AS app_version,
    turn_model AS model,
    sessions,
    prompts,
    failed_turns,
    failed_turns / nullif(prompts, 0) AS failed_turn_rate,
    api_requests,
    api_errors,
    api_errors / nullif(api_requests + api_errors, 0) AS api_error_rate,
    tool_calls,
    tool_failures,
    tool_failures / nullif(tool_calls, 0) AS tool_failure_rate,
    decisions,
    rejections,
    rejections / nullif(decisions, 0) AS reject_rate,
    first_seen,
    last_seen
FROM by_version
ORDER BY first_seen, version_name, turn_model
