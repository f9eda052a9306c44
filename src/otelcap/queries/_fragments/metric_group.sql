-- The --by group of a metric point (otel_metrics_*), as _fragments/log_group.sql gives it
-- for a log row: the same groups, read from the point's Attributes and ResourceAttributes.
CASE $by
    WHEN 'model' THEN Model
    WHEN 'project' THEN coalesce(
        nullif(Attributes['vcs.repository.name'], ''),
        nullif(ResourceAttributes['vcs.repository.name'], ''),
        nullif(Attributes['vcs.repository.url.full'], ''),
        nullif(ResourceAttributes['vcs.repository.url.full'], ''),
        '(no repository)')
    WHEN 'user' THEN coalesce(
        nullif(Attributes['user.email'], ''), nullif(Attributes['user.account_uuid'], ''),
        nullif(Attributes['user.id'], ''), '(no user)')
    WHEN 'team' THEN coalesce(
        nullif(ResourceAttributes['team.id'], ''), nullif(Attributes['team.id'], ''),
        '(no team.id)')
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
