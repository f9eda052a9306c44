-- The --by group of a metric point (otel_metrics_*), as _fragments/log_group.sql gives it
-- for a log row: the same groups, read from the point's Attributes and ResourceAttributes.
CASE $by
    WHEN 'model' THEN Model
    WHEN 'project' THEN
-- include: metric_project
    WHEN 'user' THEN
-- include: metric_user
    WHEN 'team' THEN
-- include: metric_team
    WHEN 'department' THEN coalesce(
        nullif(ResourceAttributes['department'], ''), nullif(Attributes['department'], ''),
        '(no department)')
    WHEN 'cost_center' THEN coalesce(
        nullif(ResourceAttributes['cost_center'], ''), nullif(Attributes['cost_center'], ''),
        '(no cost_center)')
    WHEN 'host' THEN coalesce(nullif(ResourceAttributes['host.name'], ''), '(no host.name)')
    WHEN 'version' THEN coalesce(nullif(Attributes['app.version'], ''), nullif(ScopeVersion, ''), '(no version)')
    WHEN 'terminal' THEN coalesce(nullif(Attributes['terminal.type'], ''), '(no terminal)')
    WHEN 'session' THEN SessionId
    ELSE CAST(CAST(date_trunc('day', timezone($tz, timezone('UTC', TimeUnix))) AS DATE) AS VARCHAR)
END
