-- _ops/doctor-engine: rendered from queries/_ops/doctor-engine.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  VERSION() AS v,
  CURRENT_DATABASE() AS db
SETTINGS join_use_nulls = 1
