-- The project of an otel_logs row, as --by project and the project filter read it: the
-- repository Claude Code sends with OTEL_METRICS_INCLUDE_REPOSITORY=true, on the record or
-- its resource, which the store keeps in Repository (storage/upgrade.py derives it from the
-- maps: vcs.repository.name, else vcs.repository.url.full; '' when the row has neither).
coalesce(nullif(Repository, ''), '(no repository)')
