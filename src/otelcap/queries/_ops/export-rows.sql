-- name: _ops/export-rows
-- description: one window of one table's rows, oldest first, in the export's columns
-- param: lo timestamp 1970-01-01 from this time
-- param: hi timestamp 2262-04-11 before this time
-- Runs once per window and table: __table__, __time__ and __columns__ (every column of
-- model/schema.py, in its order) stand for the table's. The bounds are constants, so DuckDB
-- skips the row groups outside them.
SELECT __columns__
FROM __table__
WHERE __time__ >= $lo AND __time__ < $hi
ORDER BY __time__
