-- The team of an otel_logs row, as --by team and the team filter read it: the team.id key of
-- OTEL_RESOURCE_ATTRIBUTES, which Claude Code sends on the resource and on every record.
coalesce(
    nullif(ResourceAttributes['team.id'], ''), nullif(LogAttributes['team.id'], ''),
    '(no team.id)')
