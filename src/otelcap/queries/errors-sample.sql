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
stories AS (
    -- only the sampled turns are read in full: each sampled failure with its turn's events.
    -- sampled is read once, here (ClickHouse runs a CTE again at each reference: chdb, 100k
    -- bench events, 960 ms a time); otel_logs first, the side ClickHouse streams. Joined on
    -- the prompt alone, the session matched in each aggregate: DuckDB turns a one-key join
    -- into a filter on the scan of otel_logs (10M events: 35k rows read, not 10M), a two-key
    -- join not. The failure is an event of its own session's turn, so every turn has one.
    SELECT
        s.step,
        s.kind,
        s.category,
        s.pick,
        s.SessionId AS session_id,
        s.PromptId AS prompt_id,
        s.EventSequence AS failed_at_sequence,
        s.EventName AS failed_event,
        s.ToolName AS tool,
        s.StatusCode AS status_code,
        s.Error AS failure_error,
        min(l.Timestamp) FILTER (WHERE l.SessionId = s.SessionId) AS turn_started,
        count(*) FILTER (WHERE l.SessionId = s.SessionId) AS turn_events,
        coalesce(sum(l.CostUsd) FILTER (WHERE l.SessionId = s.SessionId AND l.EventName = 'api_request'), 0) AS turn_cost,
        max(l.EventSequence) FILTER (WHERE l.SessionId = s.SessionId AND l.EventName = 'api_request') AS last_request_at,
        coalesce(max(nullif(l.WorkflowStep, '')) FILTER (WHERE l.SessionId = s.SessionId), '') AS turn_workflow
    FROM otel_logs AS l
    JOIN sampled AS s ON s.PromptId = l.PromptId
    WHERE l.Timestamp >= $since
      AND l.Timestamp < $until
      AND ($session = '' OR l.SessionId = $session)
      -- include: log_filter
    GROUP BY
        s.step, s.kind, s.category, s.pick, s.SessionId, s.PromptId, s.EventSequence,
        s.EventName, s.ToolName, s.StatusCode, s.Error
)
SELECT
    step,
    kind,
    category,
    pick,
    session_id,
    prompt_id,
    turn_started,
    turn_workflow AS workflow_step,
    turn_events AS events,
    failed_at_sequence,
    failed_event,
    tool,
    status_code,
    left(failure_error, 300) AS error_text,
    turn_cost AS turn_cost_usd,
    CASE WHEN last_request_at > failed_at_sequence THEN 'recovered' ELSE 'stalled' END AS outcome,
    -- the command that tells the turn's whole story
    'otelcap show turn ' || prompt_id AS show
FROM stories
ORDER BY step, kind, category, pick
