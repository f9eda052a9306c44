-- The team of a metric point, as _fragments/log_team.sql reads it for a log row.
coalesce(
    nullif(ResourceAttributes['team.id'], ''), nullif(Attributes['team.id'], ''),
    '(no team.id)')
