-- name: sessions
-- description: Per session: project, Claude Code version, start, end, duration, active time, prompts, API requests, models, tokens by type, cost, tool calls and failures, rejections, commits, PRs, lines of code, terminal.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team
--
-- Cost and tokens are Claude Code's own per-request figures from api_request events
-- (subagents included), so they add up to what `claude --output-format json` reports.
-- Active time, commits, pull requests and lines of code come from the metrics, turned into
-- increments first: a delta point is an increment; a cumulative point adds what it grew since
-- the previous point of its series, or its whole value when the series starts or resets (a
-- `--continue` process re-sends the series from zero with a new start time).
-- Filters keep the records of that project, user or team; no model filter: most of a
-- session's records (prompts, tool calls) carry no model.
WITH by_session AS (
    SELECT
        SessionId AS session_id,
        min(Timestamp) AS started,
        max(Timestamp) AS ended,
        count(*) FILTER (WHERE EventName = 'user_prompt') AS prompts,
        count(*) FILTER (WHERE EventName = 'api_request') AS api_requests,
        count(*) FILTER (WHERE EventName = 'api_error') AS api_errors,
        count(*) FILTER (WHERE EventName = 'tool_result') AS tool_calls,
        count(*) FILTER (WHERE EventName = 'tool_result' AND Success = false) AS tool_failures,
        count(*) FILTER (WHERE EventName = 'tool_decision' AND Decision = 'reject') AS rejections
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY SessionId
),
by_request AS (
    -- tokens and cost from the requests alone: a third of the rows
    SELECT
        SessionId AS request_session,
        CAST(coalesce(sum(InputTokens), 0) AS BIGINT) AS input_tokens,
        CAST(coalesce(sum(OutputTokens), 0) AS BIGINT) AS output_tokens,
        CAST(coalesce(sum(CacheReadTokens), 0) AS BIGINT) AS cache_read_tokens,
        CAST(coalesce(sum(CacheCreationTokens), 0) AS BIGINT) AS cache_creation_tokens,
        coalesce(sum(CostUsd), 0) AS cost_usd
    FROM otel_logs
    WHERE EventName = 'api_request'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY SessionId
),
by_prompt AS (
    -- the version and terminal of the session's last prompt (a `--continue` may run a
    -- newer version than the start did)
    SELECT
        SessionId AS prompt_session,
        arg_max(AppVersion, Timestamp) AS last_app_version,
        arg_max(TerminalType, Timestamp) AS last_terminal,
        -- the repository, as --by project reads it (_fragments/log_project.sql); Claude
        -- Code sends vcs.* only with OTEL_METRICS_INCLUDE_REPOSITORY=true
        max(nullif(Repository, '')) AS last_project
    FROM otel_logs
    WHERE EventName = 'user_prompt'
      AND Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY SessionId
),
session_models AS (
    SELECT model_session, string_agg(DISTINCT model_name, ', ' ORDER BY model_name) AS models
    FROM (
        SELECT SessionId AS model_session, Model AS model_name
        FROM otel_logs
        WHERE EventName IN ('api_request', 'api_error')
          AND Model <> ''
          AND Timestamp >= $since
          AND Timestamp < $until
          AND ($session = '' OR SessionId = $session)
          -- include: log_filter
        GROUP BY SessionId, Model
    ) AS pairs
    GROUP BY model_session
),
-- include: session_increments
metrics_by_session AS (
    SELECT
        SessionId AS metric_session,
        coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.active_time.total'), 0) AS active_time_s,
        -- counts travel as doubles; their sums are whole numbers, so the cast is exact
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.commit.count'), 0) AS BIGINT) AS commits,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.pull_request.count'), 0) AS BIGINT) AS pull_requests,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.lines_of_code.count' AND Type = 'added'), 0) AS BIGINT) AS lines_added,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.lines_of_code.count' AND Type = 'removed'), 0) AS BIGINT) AS lines_removed
    FROM increments
    GROUP BY SessionId
)
SELECT
    s.session_id,
    coalesce(p.last_project, '(no repository)') AS project,
    coalesce(p.last_app_version, '') AS app_version,
    s.started,
    s.ended,
    date_diff('millisecond', s.started, s.ended) / 1000.0 AS duration_s,
    coalesce(m.active_time_s, 0) AS active_time_s,
    s.prompts,
    s.api_requests,
    s.api_errors,
    coalesce(sm.models, '') AS models,
    coalesce(r.input_tokens, 0) AS input_tokens,
    coalesce(r.output_tokens, 0) AS output_tokens,
    coalesce(r.cache_read_tokens, 0) AS cache_read_tokens,
    coalesce(r.cache_creation_tokens, 0) AS cache_creation_tokens,
    coalesce(r.cost_usd, 0) AS cost_usd,
    s.tool_calls,
    s.tool_failures,
    s.rejections,
    coalesce(m.commits, 0) AS commits,
    coalesce(m.pull_requests, 0) AS pull_requests,
    coalesce(m.lines_added, 0) AS lines_added,
    coalesce(m.lines_removed, 0) AS lines_removed,
    coalesce(p.last_terminal, '') AS terminal
FROM by_session AS s
LEFT JOIN by_request AS r ON r.request_session = s.session_id
LEFT JOIN by_prompt AS p ON p.prompt_session = s.session_id
LEFT JOIN session_models AS sm ON sm.model_session = s.session_id
LEFT JOIN metrics_by_session AS m ON m.metric_session = s.session_id
ORDER BY s.started, s.session_id
