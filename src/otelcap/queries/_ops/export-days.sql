-- name: _ops/export-days
-- description: rows per UTC day of one table in [since, until), to plan export windows
-- param: since timestamp 1970-01-01 from this time (OTLP times start there; an unset one is 0)
-- param: until timestamp 2262-04-11 before this time (DuckDB's TIMESTAMP_NS ends in 2262)
-- Runs once per table: __table__ stands for the table, __time__ for its time column.
SELECT CAST(__time__ AS DATE) AS day, count(*) AS n
FROM __table__
WHERE __time__ >= $since AND __time__ < $until
GROUP BY day
ORDER BY day
