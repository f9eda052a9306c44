-- name: _ops/export-untimed-count
-- description: rows of one table without a time (an unfiltered export keeps them too)
-- Runs once per table: __table__ and __time__ stand for the table and its time column.
SELECT count(*) AS n FROM __table__ WHERE __time__ IS NULL
