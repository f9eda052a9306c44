-- name: sessions-by
-- description: Sessions per project, user, team, … (`otelcap query sessions --by GROUP`): sessions, prompts, API requests and errors, tokens, cost, tool calls and failures, rejections, commits, PRs, lines of code, active time.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- param: by project|user|team|department|cost_center|host|version|terminal|session|day project what the rows are per; the column keeps the name model
-- param: tz text UTC the IANA time zone of by=day (the CLI passes the local one)
-- filters: project user team
--
-- The figures of `sessions`, summed per group of cost --by (the same labels, "(no
-- repository)" where the data lacks one): every record counts under its own group, so the
-- rows add up to the sessions query's columns. sessions counts the sessions with a record in
-- the group: a session whose records carry two groups (a --continue in another repository,
-- or one that runs past midnight with by=day) counts in each. Commits, pull requests, lines
-- of code and active time are metric increments, grouped by the point's own attributes.
-- No `model` group: most of a session's records (prompts, tool calls) carry no model.
WITH records AS (
    SELECT
        -- include: log_group
        AS group_name,
        SessionId, EventName, Success, Decision, Timestamp, CostUsd,
        InputTokens, OutputTokens, CacheReadTokens, CacheCreationTokens
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
),
per_session AS (
    -- per (group, session) first: count(DISTINCT SessionId) beside the other aggregates made
    -- DuckDB materialize every record for a second aggregation (at 1M events, callgrind:
    -- 1,726 → 1,541 M instructions for the whole query)
    SELECT
        group_name,
        min(Timestamp) AS first_event,
        max(Timestamp) AS last_event,
        count(*) FILTER (WHERE EventName = 'user_prompt') AS prompts,
        count(*) FILTER (WHERE EventName = 'api_request') AS api_requests,
        count(*) FILTER (WHERE EventName = 'api_error') AS api_errors,
        sum(InputTokens) FILTER (WHERE EventName = 'api_request') AS input_tokens,
        sum(OutputTokens) FILTER (WHERE EventName = 'api_request') AS output_tokens,
        sum(CacheReadTokens) FILTER (WHERE EventName = 'api_request') AS cache_read_tokens,
        sum(CacheCreationTokens) FILTER (WHERE EventName = 'api_request') AS cache_creation_tokens,
        sum(CostUsd) FILTER (WHERE EventName = 'api_request') AS cost_usd,
        count(*) FILTER (WHERE EventName = 'tool_result') AS tool_calls,
        count(*) FILTER (WHERE EventName = 'tool_result' AND Success = false) AS tool_failures,
        count(*) FILTER (WHERE EventName = 'tool_decision' AND Decision = 'reject') AS rejections
    FROM records
    GROUP BY group_name, SessionId
),
by_group AS (
    SELECT
        group_name,
        CAST(count(*) AS BIGINT) AS sessions,
        min(first_event) AS first_event,
        max(last_event) AS last_event,
        CAST(sum(prompts) AS BIGINT) AS prompts,
        CAST(sum(api_requests) AS BIGINT) AS api_requests,
        CAST(sum(api_errors) AS BIGINT) AS api_errors,
        CAST(coalesce(sum(input_tokens), 0) AS BIGINT) AS input_tokens,
        CAST(coalesce(sum(output_tokens), 0) AS BIGINT) AS output_tokens,
        CAST(coalesce(sum(cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens,
        CAST(coalesce(sum(cache_creation_tokens), 0) AS BIGINT) AS cache_creation_tokens,
        coalesce(sum(cost_usd), 0) AS cost_usd,
        CAST(sum(tool_calls) AS BIGINT) AS tool_calls,
        CAST(sum(tool_failures) AS BIGINT) AS tool_failures,
        CAST(sum(rejections) AS BIGINT) AS rejections
    FROM per_session
    GROUP BY group_name
),
series_points AS (
    SELECT
        -- the point's group, as cost --by gives a metric point's (before the window, so the
        -- window carries a label instead of both maps)
        -- include: metric_group
        AS label,
        -- include: series_source
),
series_history AS (
    SELECT
        -- include: series_source
),
-- include: series_increments
metrics_by_group AS (
    SELECT
        label AS metric_group_name,
        coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.active_time.total'), 0) AS active_time_s,
        -- counts travel as doubles; their sums are whole numbers, so the cast is exact
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.commit.count'), 0) AS BIGINT) AS commits,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.pull_request.count'), 0) AS BIGINT) AS pull_requests,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.lines_of_code.count' AND Type = 'added'), 0) AS BIGINT) AS lines_added,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.lines_of_code.count' AND Type = 'removed'), 0) AS BIGINT) AS lines_removed
    FROM increments
    GROUP BY label
)
SELECT
    g.group_name AS model,
    g.sessions,
    g.first_event,
    g.last_event,
    coalesce(m.active_time_s, 0) AS active_time_s,
    g.prompts,
    g.api_requests,
    g.api_errors,
    g.input_tokens,
    g.output_tokens,
    g.cache_read_tokens,
    g.cache_creation_tokens,
    g.cost_usd,
    g.tool_calls,
    g.tool_failures,
    g.rejections,
    coalesce(m.commits, 0) AS commits,
    coalesce(m.pull_requests, 0) AS pull_requests,
    coalesce(m.lines_added, 0) AS lines_added,
    coalesce(m.lines_removed, 0) AS lines_removed
FROM by_group AS g
LEFT JOIN metrics_by_group AS m ON m.metric_group_name = g.group_name
ORDER BY g.cost_usd DESC, g.group_name
