-- name: error-analysis
-- description: Where turns fail (Andrew Ng's error analysis): failures per workflow step and kind with denominators and rates, the first failing step per turn as a Pareto table, recovered vs stalled turns, and the cost spent in failed turns.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team
--
-- A turn is one prompt.id; its events are ordered by event.sequence (safe within a prompt,
-- which lives in one process). Failure signals by workflow step:
--   model call        api_error (by status code), api_retries_exhausted, api_refusal
--   permission        tool_decision decision=reject (by source: config, hook, user_…)
--   tool execution    tool_result success=false (by error_type)
--   hooks             hook_execution_complete with blocking, non-blocking-error or cancelled hooks
--   prompt / context  compaction or at_mention with success=false
--   session setup     mcp_server_connection status=failed, auth success=false, internal_error
-- Error text, when Claude Code sends it, is grouped into readable categories; text that
-- matches none is `other`, never dropped.
-- Columns: failures / denominator = failure_rate, where the denominator is what could fail
-- at that step (model calls = api_request + api_error; decisions; tool results; hook runs;
-- compactions and @-mentions; sessions). A turn is counted by its user_prompt event.
-- first_failure_turns counts turns whose FIRST failure was this row, so fixing the top rows
-- fixes the most turns: pareto_share and cumulative_share run over them. A turn recovered
-- when the model was called again after that first failure, and stalled when it was not.
-- failed_turn_cost_usd is what those turns cost in all, cost_share its part of all
-- spending. The last row (`all steps`) is over turns: failures = failure signals,
-- denominator = turns, failure_rate = failed turns / turns.
-- No model filter: most failure signals (tool results, decisions, hooks) carry no model.
WITH
-- include: failures
first_at AS (
    -- where each turn first fell short (event.sequence orders a prompt's events)
    SELECT PromptId AS first_prompt, min(EventSequence) AS first_sequence
    FROM failures
    WHERE PromptId <> ''
    GROUP BY PromptId
),
ranked AS (
    SELECT
        f.*,
        c.category,
        coalesce(f.EventSequence = fa.first_sequence, false) AS is_first
    FROM failures AS f
    JOIN categories AS c ON c.error_text = f.Error
    LEFT JOIN first_at AS fa ON fa.first_prompt = f.PromptId
),
turns AS (
    -- the model calls of the turns that failed: their cost, and the last one's place
    SELECT
        SessionId AS turn_session,
        PromptId AS turn_prompt,
        coalesce(sum(CostUsd), 0) AS turn_cost,
        max(EventSequence) AS last_request_at
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      AND PromptId IN (SELECT PromptId FROM failures WHERE PromptId <> '')
    GROUP BY SessionId, PromptId
),
marked AS (
    SELECT
        r.step,
        r.kind,
        r.category,
        r.PromptId,
        r.is_first,
        t.turn_cost,
        t.last_request_at > r.EventSequence AS went_on
    FROM ranked AS r
    LEFT JOIN turns AS t ON t.turn_session = r.SessionId AND t.turn_prompt = r.PromptId
),
per_kind AS (
    -- the kinds and, as the grouping set (), their total: one row even when nothing failed.
    -- One aggregation, read once below, where a total over per_kind would read it twice.
    SELECT
        grouping(step, kind, category) > 0 AS is_total_set,
        step AS failed_step,
        kind AS failed_kind,
        category AS failed_category,
        CAST(count(*) AS BIGINT) AS failures,
        CAST(count(DISTINCT nullif(PromptId, '')) AS BIGINT) AS turns_affected,
        CAST(count(*) FILTER (WHERE is_first) AS BIGINT) AS first_failure_turns,
        CAST(count(*) FILTER (WHERE is_first AND went_on) AS BIGINT) AS recovered_turns,
        coalesce(sum(turn_cost) FILTER (WHERE is_first), 0) AS failed_turn_cost_usd
    FROM marked
    GROUP BY GROUPING SETS ((step, kind, category), ())
),
event_counts AS (
    SELECT EventName AS event_name, count(*) AS events, coalesce(sum(CostUsd), 0) AS cost
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY EventName
),
session_count AS (
    SELECT count(DISTINCT SessionId) AS sessions
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
),
denominators AS (
    -- an aggregate without GROUP BY: one row even over no events
    SELECT
        coalesce(sum(events) FILTER (WHERE event_name IN ('api_request', 'api_error')), 0) AS model_calls,
        coalesce(sum(events) FILTER (WHERE event_name = 'tool_decision'), 0) AS decisions,
        coalesce(sum(events) FILTER (WHERE event_name = 'tool_result'), 0) AS tool_results,
        coalesce(sum(events) FILTER (WHERE event_name = 'hook_execution_complete'), 0) AS hook_runs,
        coalesce(sum(events) FILTER (WHERE event_name IN ('compaction', 'at_mention')), 0) AS context_events,
        coalesce(sum(events) FILTER (WHERE event_name = 'user_prompt'), 0) AS all_turns,
        coalesce(sum(cost) FILTER (WHERE event_name = 'api_request'), 0) AS all_cost
    FROM event_counts
),
everything AS (
    -- the last row (`all steps`) is over turns: failures = failure signals, denominator =
    -- turns, turns_affected = failed turns
    SELECT
        CASE WHEN k.is_total_set THEN 'all steps' ELSE k.failed_step END AS step,
        CASE WHEN k.is_total_set THEN 'any failure' ELSE k.failed_kind END AS kind,
        CASE WHEN k.is_total_set THEN '' ELSE k.failed_category END AS category,
        k.failures,
        CAST(
            CASE
                WHEN k.is_total_set THEN d.all_turns
                WHEN k.failed_step = 'model call' THEN d.model_calls
                WHEN k.failed_step = 'permission' THEN d.decisions
                WHEN k.failed_step = 'tool execution' THEN d.tool_results
                WHEN k.failed_step = 'hooks' THEN d.hook_runs
                WHEN k.failed_step = 'prompt / context' THEN d.context_events
                ELSE sc.sessions
            END AS BIGINT
        ) AS denominator,
        CASE WHEN k.is_total_set THEN k.first_failure_turns ELSE k.turns_affected END AS turns_affected,
        k.first_failure_turns,
        k.recovered_turns,
        k.failed_turn_cost_usd,
        d.all_cost,
        CASE WHEN k.is_total_set THEN 1 ELSE 0 END AS is_total,
        CASE
            WHEN k.is_total_set THEN CASE WHEN k.first_failure_turns > 0 THEN 1.0 END
            ELSE k.first_failure_turns / nullif(sum(CASE WHEN NOT k.is_total_set THEN k.first_failure_turns END) OVER (), 0)
        END AS pareto_share,
        CASE
            WHEN k.is_total_set THEN CASE WHEN k.first_failure_turns > 0 THEN 1.0 END
            -- the total sorts last, so no kind's running sum includes it
            ELSE sum(k.first_failure_turns) OVER (
                ORDER BY k.is_total_set, k.first_failure_turns DESC, k.failures DESC, k.failed_step, k.failed_kind, k.failed_category
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) / nullif(sum(CASE WHEN NOT k.is_total_set THEN k.first_failure_turns END) OVER (), 0)
        END AS cumulative_share
    FROM per_kind AS k
    CROSS JOIN denominators AS d
    CROSS JOIN session_count AS sc
)
SELECT
    step,
    kind,
    category,
    failures,
    denominator,
    CASE WHEN is_total = 1 THEN first_failure_turns ELSE failures END
        / nullif(denominator, 0) AS failure_rate,
    turns_affected,
    first_failure_turns,
    pareto_share,
    cumulative_share,
    recovered_turns,
    first_failure_turns - recovered_turns AS stalled_turns,
    failed_turn_cost_usd,
    failed_turn_cost_usd / nullif(all_cost, 0) AS cost_share
FROM everything
ORDER BY is_total, first_failure_turns DESC, failures DESC, step, kind, category
