-- name: outcomes
-- description: What the money bought: sessions with a commit or pull request (productive) vs without (wasted), their cost, commits, PRs, lines of code, cost per commit and lines per dollar.
-- param: since timestamp 1970-01-01 events at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team
--
-- A session is productive when the claude_code.commit.count or claude_code.pull_request.count
-- metric grew in it, wasted when it spent money without either (a session that asked questions
-- is "wasted" by this measure: read the share, not a verdict). Cost is the sum of api_request
-- cost_usd, as in sessions and cost; commits, pull requests and lines of code are metric
-- increments as in sessions, so this query's rows add up to the sessions query's columns.
-- cost_per_commit_usd is all cost over all commits; lines_per_usd is lines added over all
-- cost (Grafana's Claude Code dashboard shows both). The rows: productive, wasted, and `all`.
-- No model filter: commits and most of a session's records carry no model.
WITH by_session AS (
    -- every session with an event in the window, as in sessions; cost from its requests
    SELECT
        SessionId AS session_id,
        coalesce(sum(CostUsd) FILTER (WHERE EventName = 'api_request'), 0) AS cost_usd
    FROM otel_logs
    WHERE Timestamp >= $since
      AND Timestamp < $until
      AND SessionId <> ''
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
    GROUP BY SessionId
),
-- Its own points, not session_increments': outcomes needs no active time, whose points
-- (half of the four metrics' at 10M bench events) the series window would sort for nothing.
series_points AS (
    SELECT
        '' AS label,
        -- include: outcome_points
),
series_history AS (
    SELECT
        -- include: outcome_points
),
-- include: series_increments
metrics_by_session AS (
    SELECT
        SessionId AS metric_session,
        -- counts travel as doubles; their sums are whole numbers, so the cast is exact
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.commit.count'), 0) AS BIGINT) AS commits,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.pull_request.count'), 0) AS BIGINT) AS pull_requests,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.lines_of_code.count' AND Type = 'added'), 0) AS BIGINT) AS lines_added,
        CAST(coalesce(sum(increment) FILTER (WHERE MetricName = 'claude_code.lines_of_code.count' AND Type = 'removed'), 0) AS BIGINT) AS lines_removed
    FROM increments
    GROUP BY SessionId
),
sessions AS (
    SELECT
        s.session_id,
        s.cost_usd,
        coalesce(m.commits, 0) AS session_commits,
        coalesce(m.pull_requests, 0) AS session_prs,
        coalesce(m.lines_added, 0) AS session_lines_added,
        coalesce(m.lines_removed, 0) AS session_lines_removed,
        CASE WHEN coalesce(m.commits, 0) > 0 OR coalesce(m.pull_requests, 0) > 0
            THEN 'productive' ELSE 'wasted' END AS outcome_name
    FROM by_session AS s
    LEFT JOIN metrics_by_session AS m ON m.metric_session = s.session_id
),
by_outcome AS (
    SELECT
        outcome_name,
        0 AS is_total,
        CAST(count(*) AS BIGINT) AS session_count,
        sum(cost_usd) AS outcome_cost,
        CAST(sum(session_commits) AS BIGINT) AS commit_count,
        CAST(sum(session_prs) AS BIGINT) AS pr_count,
        CAST(sum(session_lines_added) AS BIGINT) AS added,
        CAST(sum(session_lines_removed) AS BIGINT) AS removed
    FROM sessions
    GROUP BY outcome_name
    UNION ALL
    -- an aggregate without GROUP BY: the `all` row is there even over no sessions
    SELECT
        'all',
        1,
        CAST(count(*) AS BIGINT),
        coalesce(sum(cost_usd), 0),
        CAST(coalesce(sum(session_commits), 0) AS BIGINT),
        CAST(coalesce(sum(session_prs), 0) AS BIGINT),
        CAST(coalesce(sum(session_lines_added), 0) AS BIGINT),
        CAST(coalesce(sum(session_lines_removed), 0) AS BIGINT)
    FROM sessions
)
SELECT
    o.outcome_name AS outcome,
    o.session_count AS sessions,
    o.session_count / nullif(t.total_sessions, 0) AS session_share,
    o.outcome_cost AS cost_usd,
    o.outcome_cost / nullif(t.total_cost, 0) AS cost_share,
    o.commit_count AS commits,
    o.pr_count AS pull_requests,
    o.added AS lines_added,
    o.removed AS lines_removed,
    o.outcome_cost / nullif(o.commit_count, 0) AS cost_per_commit_usd,
    o.added / nullif(o.outcome_cost, 0) AS lines_per_usd
FROM by_outcome AS o
CROSS JOIN (
    SELECT sum(session_count) AS total_sessions, sum(outcome_cost) AS total_cost
    FROM by_outcome
    WHERE is_total = 0
) AS t
ORDER BY o.is_total, o.outcome_name
