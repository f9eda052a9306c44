-- The project of an otel_logs row, as --by project and the project filter read it: the
-- repository Claude Code sends with OTEL_METRICS_INCLUDE_REPOSITORY=true, on the record or
-- its resource. A missing map key is '' on ClickHouse and NULL on DuckDB: nullif(…, '')
-- makes both NULL.
coalesce(
    nullif(LogAttributes['vcs.repository.name'], ''),
    nullif(ResourceAttributes['vcs.repository.name'], ''),
    nullif(LogAttributes['vcs.repository.url.full'], ''),
    nullif(ResourceAttributes['vcs.repository.url.full'], ''),
    '(no repository)')
