-- The --by group of an otel_logs row, as text: what `by` names, or a "(no …)" label where
-- the data lacks it. Identity stays as stored (hashed under the privacy defaults), so users
-- group by their hashes. Claude Code sends vcs.* with OTEL_METRICS_INCLUDE_REPOSITORY=true
-- and OTEL_RESOURCE_ATTRIBUTES keys (team.id, department, cost_center) on the resource and
-- again on every record; either place is read. A missing map key is '' on ClickHouse and
-- NULL on DuckDB: nullif(…, '') makes both NULL.
-- A statement runs only the chosen branch (querypack.resolve_choice): left as a CASE, ClickHouse
-- reads every branch's columns, both maps included, for every row.
CASE $by
    WHEN 'model' THEN Model
    WHEN 'project' THEN
-- include: log_project
    WHEN 'user' THEN
-- include: log_user
    WHEN 'team' THEN
-- include: log_team
    WHEN 'department' THEN coalesce(
        nullif(ResourceAttributes['department'], ''), nullif(LogAttributes['department'], ''),
        '(no department)')
    WHEN 'cost_center' THEN coalesce(
        nullif(ResourceAttributes['cost_center'], ''), nullif(LogAttributes['cost_center'], ''),
        '(no cost_center)')
    WHEN 'host' THEN coalesce(nullif(ResourceAttributes['host.name'], ''), '(no host.name)')
    WHEN 'version' THEN coalesce(nullif(AppVersion, ''), nullif(ScopeVersion, ''), '(no version)')
    WHEN 'terminal' THEN coalesce(nullif(TerminalType, ''), '(no terminal)')
    WHEN 'session' THEN SessionId
    ELSE CAST(CAST(date_trunc('day', timezone($tz, timezone('UTC', Timestamp))) AS DATE) AS VARCHAR)
END
