-- name: errors-sample
-- description: A seeded, stratified sample of failing turns, a few per (step, kind, category) of their first failure, for a person to read and label.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team
-- param: per_kind int 3 turns sampled per (step, kind, category)
-- param: seed text otelcap change it for another sample; the same seed gives the same turns
--
-- The sample is reproducible on both engines: turns are picked in the order of
-- md5(seed || prompt.id). Everything shown was sanitized before it was stored (error text
-- is cut to 300 characters). Steps, kinds and categories are those of error-analysis; the
-- outcome says whether the model was called again after the failure (recovered) or not.
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
firsts AS (
    SELECT f.*, c.category
    FROM failures AS f
    JOIN first_at AS fa ON fa.first_prompt = f.PromptId AND fa.first_sequence = f.EventSequence
    JOIN categories AS c ON c.error_text = f.Error
),
sampled AS MATERIALIZED (
    SELECT *
    FROM (
        SELECT
            *,
            row_number() OVER (
                PARTITION BY step, kind, category
                ORDER BY md5($seed || PromptId), SessionId, EventSequence
            ) AS pick
        FROM firsts
    ) AS shuffled
    WHERE pick <= $per_kind
),
turns AS (
    -- only the sampled turns are read in full
    SELECT
        SessionId AS turn_session,
        PromptId AS turn_prompt,
        min(Timestamp) AS turn_started,
        count(*) AS turn_events,
        coalesce(sum(CostUsd) FILTER (WHERE EventName = 'api_request'), 0) AS turn_cost,
        max(EventSequence) FILTER (WHERE EventName = 'api_request') AS last_request_at,
        coalesce(max(nullif(WorkflowStep, '')), '') AS turn_workflow
    FROM otel_logs
    WHERE PromptId IN (SELECT PromptId FROM sampled)
      AND Timestamp >= $since
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY SessionId, PromptId
)
SELECT
    s.step,
    s.kind,
    s.category,
    s.pick,
    s.SessionId AS session_id,
    s.PromptId AS prompt_id,
    t.turn_started,
    t.turn_workflow AS workflow_step,
    t.turn_events AS events,
    s.EventSequence AS failed_at_sequence,
    s.EventName AS failed_event,
    s.ToolName AS tool,
    s.StatusCode AS status_code,
    left(s.Error, 300) AS error_text,
    t.turn_cost AS turn_cost_usd,
    CASE WHEN t.last_request_at > s.EventSequence THEN 'recovered' ELSE 'stalled' END AS outcome,
    -- the command that tells the turn's whole story
    'otelcap show turn ' || s.PromptId AS show
FROM sampled AS s
JOIN turns AS t ON t.turn_session = s.SessionId AND t.turn_prompt = s.PromptId
ORDER BY s.step, s.kind, s.category, s.pick
