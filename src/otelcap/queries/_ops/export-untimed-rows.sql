-- name: _ops/export-untimed-rows
-- description: the rows of one table without a time, in the export's columns
-- Runs once per table: __table__, __time__ and __columns__ stand for the table's.
SELECT __columns__ FROM __table__ WHERE __time__ IS NULL
