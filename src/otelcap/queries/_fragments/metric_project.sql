-- The project of a metric point, as _fragments/log_project.sql reads it for a log row.
coalesce(
    nullif(Attributes['vcs.repository.name'], ''),
    nullif(ResourceAttributes['vcs.repository.name'], ''),
    nullif(Attributes['vcs.repository.url.full'], ''),
    nullif(ResourceAttributes['vcs.repository.url.full'], ''),
    '(no repository)')
