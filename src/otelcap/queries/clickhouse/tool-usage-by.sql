-- tool-usage-by: rendered from queries/tool-usage-by.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH ev AS (
  SELECT
    ToolName,
    EventName,
    Success,
    DurationMs,
    Decision,
    DecisionSource,
    CASE {by: String}
      WHEN 'model'
      THEN Model
      WHEN 'project'
      THEN COALESCE(nullIf(Repository, ''), '(no repository)')
      WHEN 'user'
      THEN COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      )
      WHEN 'team'
      THEN COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      )
      WHEN 'department'
      THEN COALESCE(
        nullIf(ResourceAttributes['department'], ''),
        nullIf(LogAttributes['department'], ''),
        '(no department)'
      )
      WHEN 'cost_center'
      THEN COALESCE(
        nullIf(ResourceAttributes['cost_center'], ''),
        nullIf(LogAttributes['cost_center'], ''),
        '(no cost_center)'
      )
      WHEN 'host'
      THEN COALESCE(nullIf(ResourceAttributes['host.name'], ''), '(no host.name)')
      WHEN 'version'
      THEN COALESCE(nullIf(AppVersion, ''), nullIf(ScopeVersion, ''), '(no version)')
      WHEN 'terminal'
      THEN COALESCE(nullIf(TerminalType, ''), '(no terminal)')
      WHEN 'session'
      THEN SessionId
      ELSE CAST(CAST(dateTrunc('DAY', toTimeZone(Timestamp, {tz: String})) AS Nullable(DATE)) AS Nullable(String))
    END AS group_name
  FROM otel_logs
  WHERE
    EventName IN ('tool_result', 'tool_decision')
    AND Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(nullIf(Repository, ''), '(no repository)') = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
), by_tool AS (
  SELECT
    ToolName AS tool,
    group_name,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result') AS calls,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result' AND Success = TRUE) AS succeeded,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_result' AND Success = FALSE) AS failed,
    COUNT(CASE WHEN EventName = 'tool_result' THEN DurationMs END) AS with_duration, /* both levels from one sort of the durations */
    quantilesExactInclusive(0.5, 0.95)(CASE WHEN EventName = 'tool_result' THEN DurationMs END) AS duration_levels,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision') AS decisions,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision' AND Decision = 'reject') AS rejected,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision' AND Decision = 'reject' AND DecisionSource = 'config') AS rejected_by_config,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision' AND Decision = 'reject' AND DecisionSource = 'hook') AS rejected_by_hook,
    COUNT(*) FILTER(WHERE
      EventName = 'tool_decision'
      AND Decision = 'reject'
      AND DecisionSource LIKE 'user%') AS rejected_by_user
  FROM ev
  GROUP BY
    ToolName,
    group_name
)
SELECT
  tool,
  group_name AS model,
  calls,
  succeeded,
  failed,
  succeeded / nullIf(calls, 0) AS success_rate,
  CASE WHEN with_duration > 0 THEN duration_levels[1] END AS p50_ms, /* over no values DuckDB answers NULL and ClickHouse nan: say NULL on both */
  CASE WHEN with_duration > 0 THEN duration_levels[2] END AS p95_ms,
  decisions,
  rejected,
  rejected / nullIf(decisions, 0) AS reject_rate,
  rejected_by_config,
  rejected_by_hook,
  rejected_by_user,
  rejected - rejected_by_config - rejected_by_hook - rejected_by_user AS rejected_other
FROM by_tool
ORDER BY
  calls + rejected DESC,
  tool,
  group_name
SETTINGS join_use_nulls = 1
