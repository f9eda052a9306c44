-- name: session-events
-- description: A session's events turn by turn (prompt.id, then event.sequence), each failure marked with the workflow step and kind that error-analysis counts it under.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' the session id ('' = every session: one row per event, many rows)
-- filters: project user team
--
-- What the session page of `otelcap report` draws. Turns come in the order they started;
-- inside a turn, events by event.sequence (a prompt lives in one process, so its sequence is
-- safe to order by; across a `--continue` it restarts). Events outside any prompt (session
-- start-up: plugins, MCP servers, settings) form a turn with prompt_id ''. step, kind and
-- category are set on failure signals only (the failures of error-analysis and
-- errors-sample), error_message is their text (cut to 300 characters), and first_failure
-- marks the turn's first one: the step to fix. trace_id links an event to its spans
-- (session-spans) when traces are on; agent_id marks a subagent's events; workflow_step is the turn's slash command.
WITH
-- include: failures
first_at AS (
    -- where each turn first fell short (event.sequence orders a prompt's events)
    SELECT PromptId AS first_prompt, min(EventSequence) AS first_sequence
    FROM failures
    WHERE PromptId <> ''
    GROUP BY PromptId
),
events AS (
    SELECT
        SessionId AS event_session,
        PromptId AS event_prompt,
        EventSequence AS event_sequence,
        Timestamp AS event_time,
        EventName AS event_name,
        ToolName AS event_tool,
        Model AS event_model,
        DurationMs AS event_duration_ms,
        CostUsd AS event_cost_usd,
        coalesce(InputTokens, 0) + coalesce(OutputTokens, 0) + coalesce(CacheReadTokens, 0)
            + coalesce(CacheCreationTokens, 0) AS event_tokens,
        Success AS event_success,
        Decision AS event_decision,
        DecisionSource AS event_decision_source,
        StatusCode AS event_status_code,
        Attempt AS event_attempt,
        ErrorType AS event_error_type,
        TraceId AS event_trace,
        -- set on a subagent's events (the Agent tool's run), '' on the main loop's
        coalesce(LogAttributes['agent_id'], '') AS event_agent,
        WorkflowStep AS event_workflow,
        -- the turn's start orders turns; min() over the prompt, not the session's first event
        min(Timestamp) OVER (PARTITION BY SessionId, PromptId) AS turn_started
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
)
SELECT
    e.event_session AS session_id,
    e.event_prompt AS prompt_id,
    e.turn_started,
    e.event_sequence AS sequence,
    e.event_time AS time,
    e.event_name AS event,
    e.event_tool AS tool,
    e.event_model AS model,
    e.event_duration_ms AS duration_ms,
    e.event_cost_usd AS cost_usd,
    CASE WHEN e.event_name = 'api_request' THEN e.event_tokens END AS tokens,
    e.event_success AS success,
    e.event_decision AS decision,
    e.event_decision_source AS decision_source,
    e.event_status_code AS status_code,
    e.event_attempt AS attempt,
    e.event_error_type AS error_type,
    coalesce(f.step, '') AS step,
    coalesce(f.kind, '') AS kind,
    coalesce(c.category, '') AS category,
    coalesce(left(f.Error, 300), '') AS error_message,
    coalesce(f.EventSequence = fa.first_sequence, false) AS first_failure,
    e.event_trace AS trace_id,
    e.event_agent AS agent_id,
    -- the slash command that started the turn ('' for a plain prompt)
    e.event_workflow AS workflow_step
FROM events AS e
LEFT JOIN failures AS f
    ON f.SessionId = e.event_session
   AND f.PromptId = e.event_prompt
   AND f.EventSequence = e.event_sequence
   AND f.EventName = e.event_name
   AND f.Timestamp = e.event_time
LEFT JOIN categories AS c ON c.error_text = f.Error
LEFT JOIN first_at AS fa ON fa.first_prompt = f.PromptId
ORDER BY e.event_session, e.turn_started, e.event_prompt, e.event_sequence, e.event_time, e.event_name
